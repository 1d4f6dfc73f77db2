/// The node's OpenAPI 3.1 documents (`GET /openapi/v1.yaml`, `GET /openapi/stream.yaml`).
enum OpenAPIDocuments {}
