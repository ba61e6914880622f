// Source -> Counter -> Discard (64-byte packets)
define($LIMIT 1000000)
InfiniteSource(LENGTH 64, LIMIT $LIMIT, BURST 32, STOP true) -> c :: Counter -> Discard;
