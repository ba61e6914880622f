//VNF_HEADER
//VNF_VERSION: 1.0
//VNF_ID: 6f1c2a10-0b1e-4c55-9a01-000000000004
//VNF_PROVIDER: coo bench
//VNF_NAME: nat
//VNF_RELEASE_DATE: 2025-01-01
//VNF_RELEASE_VERSION: 1.0
//VNF_RELEASE_LIFESPAN: 2030-01-01
//VNF_DESCRIPTION: Source NAT to 198.18.100.1 with IPRewriter

// Source NAT: flows entering on port 0 leave on port 1 with source 198.18.100.1 and a source
// port from 1024-65535; replies entering on port 1 are mapped back and leave on port 0.
// Unmatched frames from port 1 and non-IPv4 frames are dropped. The Ethernet header is kept:
// Strip(14) before the IP elements, Unstrip(14) after them.

rw :: IPRewriter(pattern 198.18.100.1 1024-65535 - - 0 1, drop);

FromDPDKDevice(0) -> inside :: Classifier(12/0800, -)
    -> Strip(14) -> CheckIPHeader -> [0]rw;
inside[1] -> Discard;

FromDPDKDevice(1) -> outside :: Classifier(12/0800, -)
    -> Strip(14) -> CheckIPHeader -> [1]rw;
outside[1] -> Discard;

rw[0] -> Unstrip(14) -> ToDPDKDevice(1);
rw[1] -> Unstrip(14) -> ToDPDKDevice(0);
