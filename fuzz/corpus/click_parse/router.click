// IP router, two interfaces: classify, check, route, TTL, re-encapsulate
define($LIMIT 1000000)
AddressInfo(if0 10.0.0.254/16 00:00:c0:4f:71:01, if1 10.1.0.254/16 00:00:c0:4f:71:02);
src :: InfiniteSource(DATA \<0000c0ae67ef0000c04f71ef08004500003200000000401166b80a0000010a01000204d20050001e000000000000000000000000000000000000000000000000>, LIMIT $LIMIT, BURST 32, STOP true);
cl :: Classifier(12/0806 20/0001, 12/0806 20/0002, 12/0800, -);
src -> cl;
cl[0] -> Discard;
cl[1] -> Discard;
cl[3] -> Discard;
cl[2] -> Paint(0) -> Strip(14) -> CheckIPHeader(INTERFACES 10.0.0.254/16 10.1.0.254/16)
  -> GetIPAddress(16)
  -> rt :: StaticIPLookup(10.0.0.254/32 0, 10.1.0.254/32 0, 10.0.0.0/16 1, 10.1.0.0/16 2, 0.0.0.0/0 10.1.0.1 2);
rt[0] -> Discard;
rt[1] -> DropBroadcasts -> cp1 :: CheckPaint(1) -> FixIPSrc(if0) -> dt1 :: DecIPTTL
  -> EtherEncap(0x0800, if0, 00:00:c0:ae:67:01) -> c1 :: Counter -> Discard;
rt[2] -> DropBroadcasts -> cp2 :: CheckPaint(0) -> FixIPSrc(if1) -> dt2 :: DecIPTTL
  -> EtherEncap(0x0800, if1, 00:00:c0:ae:67:02) -> c :: Counter -> Discard;
cp1[1] -> Discard; cp2[1] -> Discard;
dt1[1] -> Discard; dt2[1] -> Discard;
