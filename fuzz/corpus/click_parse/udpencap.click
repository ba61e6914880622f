InfiniteSource(DATA "hello world", LIMIT 3, STOP true)
  -> UDPIPEncap(198.18.0.1, 1234, 198.19.0.1, 5678)
  -> CheckIPHeader
  -> ToIPSummaryDump(out0.ipsum, FIELDS src sport dst dport proto ip_len ip_id ip_ttl payload);
