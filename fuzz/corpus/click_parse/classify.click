FromIPSummaryDump(../flows.ipsum, STOP true)
  -> EtherEncap(0x0800, 00:00:c0:4f:71:ef, 00:00:c0:ae:67:ef)
  -> cl :: Classifier(12/0806, 12/0800 23/06, 12/0800 23/11, -);
cl[0] -> Discard;
cl[1] -> Strip(14) -> Paint(1) -> t :: ToIPSummaryDump(out0.ipsum, FIELDS src dport proto link);
cl[2] -> Strip(14) -> ipc :: IPClassifier(dst port 53, -);
ipc[0] -> Paint(2) -> t;
ipc[1] -> Paint(3) -> t;
cl[3] -> Discard;
