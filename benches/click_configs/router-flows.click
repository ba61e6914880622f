// Router, many destinations: every packet has another destination address, spread over ten
// routes. DynamicUDPIPEncap's port pair (both +1 per packet) becomes the next header's
// destination: Strip(4) moves it to bytes 16..20 and StoreData writes a fresh IP header over
// bytes 0..16, so the destinations run 10.0.8.0, 10.1.8.1, ..., 11.0.9.0, ... (65536 of them).
define($LIMIT 1000000)
c :: Counter;
InfiniteSource(DATA \<000000000000000050020000000000000000>, LIMIT $LIMIT, BURST 32, STOP true)
  -> DynamicUDPIPEncap(10.0.0.1, 2560, 10.1.0.2, 2048, false, 1)
  -> Strip(4)
  -> StoreData(0, \<4500002a00000000401100000a020001>)
  -> MarkIPHeader
  -> SetIPChecksum
  -> c
  -> CheckIPHeader
  -> GetIPAddress(16)
  -> rt :: StaticIPLookup(10.0.0.0/8 0, 11.0.0.0/8 1, 12.0.0.0/6 2, 16.0.0.0/4 0, 32.0.0.0/3 1,
                          64.0.0.0/2 2, 128.0.0.0/1 0, 192.0.0.0/2 1, 224.0.0.0/3 2,
                          0.0.0.0/0 10.1.0.1 3);
rt[0] -> dt0 :: DecIPTTL -> o0 :: Counter -> Discard;
rt[1] -> dt1 :: DecIPTTL -> o1 :: Counter -> Discard;
rt[2] -> dt2 :: DecIPTTL -> o2 :: Counter -> Discard;
rt[3] -> dt3 :: DecIPTTL -> o3 :: Counter -> Discard;
dt0[1] -> Discard; dt1[1] -> Discard; dt2[1] -> Discard; dt3[1] -> Discard;
