FromIPSummaryDump(../flows.ipsum, STOP true)
  -> f :: IPFilter(deny src net 192.168.0.0/16,
                   deny tcp dst port 23,
                   allow src host 10.0.0.99,
                   allow dst net 10.1.0.0/16 && (tcp dst port 80 || udp),
                   2 udp,
                   deny all)
  -> ToIPSummaryDump(out0.ipsum, FIELDS timestamp src sport dst dport proto);
f[1] -> Discard;
f[2] -> ToIPSummaryDump(out2.ipsum, FIELDS timestamp src sport dst dport proto);
