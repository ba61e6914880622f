//VNF_HEADER
//VNF_VERSION: 1.0
//VNF_ID: 6f1c2a10-0b1e-4c55-9a01-000000000001
//VNF_PROVIDER: coo bench
//VNF_NAME: forward
//VNF_RELEASE_DATE: 2025-01-01
//VNF_RELEASE_VERSION: 1.0
//VNF_RELEASE_LIFESPAN: 2030-01-01
//VNF_DESCRIPTION: Forwards every frame port 0 to port 1 and back

// PyCOO's default function: frames pass unchanged in both directions.
FromDPDKDevice(0) -> ToDPDKDevice(1);
FromDPDKDevice(1) -> ToDPDKDevice(0);
