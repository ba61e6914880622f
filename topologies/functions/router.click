//VNF_HEADER
//VNF_VERSION: 1.0
//VNF_ID: 6f1c2a10-0b1e-4c55-9a01-000000000005
//VNF_PROVIDER: coo bench
//VNF_NAME: router
//VNF_RELEASE_DATE: 2025-01-01
//VNF_RELEASE_VERSION: 1.0
//VNF_RELEASE_LIFESPAN: 2030-01-01
//VNF_DESCRIPTION: Two port static IPv4 router with StaticIPLookup

// Static router between 198.18.0.0/16 (port 0) and 198.19.0.0/16 (port 1). The TTL is
// decremented; the Ethernet header is kept as received (no ARP: the chain's links are
// point-to-point bridges), so frames are routed by their IP destination only.

rt :: StaticIPLookup(198.18.0.0/16 0, 198.19.0.0/16 1);

FromDPDKDevice(0) -> c0 :: Classifier(12/0800, -) -> Strip(14) -> CheckIPHeader -> rt;
FromDPDKDevice(1) -> c1 :: Classifier(12/0800, -) -> Strip(14) -> CheckIPHeader -> rt;
c0[1] -> Discard;
c1[1] -> Discard;

rt[0] -> DecIPTTL -> Unstrip(14) -> ToDPDKDevice(0);
rt[1] -> DecIPTTL -> Unstrip(14) -> ToDPDKDevice(1);
