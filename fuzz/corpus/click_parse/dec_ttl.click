FromIPSummaryDump(../flows.ipsum, STOP true, CHECKSUM true)
  -> CheckIPHeader
  -> dt :: DecIPTTL
  -> c :: Counter
  -> ToIPSummaryDump(out0.ipsum, FIELDS src dst ip_ttl ip_len);
dt[1] -> e :: Counter -> ToIPSummaryDump(out1.ipsum, FIELDS src dst ip_ttl);
