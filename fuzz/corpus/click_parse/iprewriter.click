rw :: IPRewriter(pattern 198.18.0.1 1024-65535# - - 0 1);
FromIPSummaryDump(../flows.ipsum, STOP true, CHECKSUM true)
  -> CheckIPHeader
  -> [0]rw[0]
  -> ToIPSummaryDump(out0.ipsum, FIELDS src sport dst dport proto ip_len payload);
rw[1] -> Discard;
