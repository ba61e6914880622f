// Classifier-heavy: an 8-way Ethernet Classifier, then an IPClassifier
define($LIMIT 1000000)
InfiniteSource(DATA \<0000c0ae67ef0000c04f71ef08004500003200000000401166b80a0000010a01000204d20050001e000000000000000000000000000000000000000000000000>, LIMIT $LIMIT, BURST 32, STOP true)
  -> cl :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/86dd, 12/8100, 12/0800 23/06, 12/0800 23/01, 12/0800 23/11, -);
cl[0] -> Discard; cl[1] -> Discard; cl[2] -> Discard; cl[3] -> Discard;
cl[4] -> Discard; cl[5] -> Discard; cl[7] -> Discard;
cl[6] -> Strip(14) -> CheckIPHeader
  -> ipc :: IPClassifier(tcp dst port 80, tcp dst port 443, udp dst port 53, icmp type echo, udp dst port 80, -);
ipc[0] -> Discard; ipc[1] -> Discard; ipc[2] -> Discard; ipc[3] -> Discard; ipc[5] -> Discard;
ipc[4] -> c :: Counter -> Discard;
