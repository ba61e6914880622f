s :: InfiniteSource(LIMIT 1000, BURST 7, STOP true)
  -> c :: Counter
  -> q :: Queue(100)
  -> u :: Unqueue(BURST 4)
  -> c2 :: Counter
  -> Discard;
