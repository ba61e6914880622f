// NAT: 1000 UDP flows (random ports) through IPRewriter NAPT
define($LIMIT 1000000)
FastUDPFlows(0, -1, 64, 00:00:c0:4f:71:ef, 10.0.0.1, 00:00:c0:ae:67:ef, 10.1.0.2, 1000, 1000000000)
  -> Unqueue(BURST 32)
  -> Strip(14)
  -> CheckIPHeader
  -> rw :: IPRewriter(pattern 198.18.0.1 1024-65535 - - 0 1)
  -> c :: Counter(COUNT_CALL $LIMIT stop)
  -> Discard;
rw[1] -> Discard;
