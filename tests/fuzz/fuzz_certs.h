// The test certificates the TLS fuzz targets embed (a fuzz run reads no files):
// tests/vectors/certs/ed25519.{pem,key} and the root that issued it, ca.pem. Ed25519 signs
// deterministically, so a server's answers depend on the input and its seeded randomness
// alone.
#pragma once

#include <string_view>

namespace linetls::fuzz_certs {

// tests/vectors/certs/ed25519.{pem,key}: a test-only leaf (ed25519.test, valid 2024-2049).
constexpr std::string_view kCertPem =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBsjCCAVigAwIBAgICEAUwCgYIKoZIzj0EAwIwMzEaMBgGA1UEAwwRbGluZXRs\n"
    "cyB0ZXN0IHJvb3QxFTATBgNVBAoMDGxpbmV0bHMgdGVzdDAeFw0yNDAxMDEwMDAw\n"
    "MDBaFw00OTEyMzEyMzU5NTlaMC4xFTATBgNVBAMMDGVkMjU1MTkudGVzdDEVMBMG\n"
    "A1UECgwMbGluZXRscyB0ZXN0MCowBQYDK2VwAyEA7LTGWk3IMXk+6Wl3HjATEcPX\n"
    "CnTzxfc+ZJ5xMydSxFejgY8wgYwwDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMC\n"
    "BaAwEwYDVR0lBAwwCgYIKwYBBQUHAwEwHQYDVR0OBBYEFJam1iDgeX3b7AyGNbdt\n"
    "0lWjLu3JMB8GA1UdIwQYMBaAFDpVJgeiAJjq8SZ1phQL+AjuJgkuMBcGA1UdEQQQ\n"
    "MA6CDGVkMjU1MTkudGVzdDAKBggqhkjOPQQDAgNIADBFAiB1DRU3DmnJ/aO/Kvgz\n"
    "VyHFRpVCg1AVSiWe/xL2cwf4kAIhAPGt4wYzdgWv6mWQHjUPZg6Wjry43GTLgvGH\n"
    "FqTg6qpv\n"
    "-----END CERTIFICATE-----\n";
constexpr std::string_view kKeyPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIIuryP8N6+3GMn9lAPD+l3GjgccdXp2kLHTmi0O+UiCa\n"
    "-----END PRIVATE KEY-----\n";
// tests/vectors/certs/ca.pem: the test root that issued it (and the test client certs).
constexpr std::string_view kCaPem =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBujCCAV+gAwIBAgICEAAwCgYIKoZIzj0EAwIwMzEaMBgGA1UEAwwRbGluZXRs\n"
    "cyB0ZXN0IHJvb3QxFTATBgNVBAoMDGxpbmV0bHMgdGVzdDAeFw0yNDAxMDEwMDAw\n"
    "MDBaFw00OTEyMzEyMzU5NTlaMDMxGjAYBgNVBAMMEWxpbmV0bHMgdGVzdCByb290\n"
    "MRUwEwYDVQQKDAxsaW5ldGxzIHRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC\n"
    "AATBmRAYeQZkZc9lT/AG8kd4AmMgwKbiFHz+QFVZ/VTOHcZEjHl952xbLGNsKPo0\n"
    "LFiMWGNRat6TW34VhRmHtiZyo2MwYTAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB\n"
    "/wQEAwIBBjAdBgNVHQ4EFgQUOlUmB6IAmOrxJnWmFAv4CO4mCS4wHwYDVR0jBBgw\n"
    "FoAUOlUmB6IAmOrxJnWmFAv4CO4mCS4wCgYIKoZIzj0EAwIDSQAwRgIhAO+8ju3u\n"
    "+cUHnC9hqil1nk7KowENFKdRItetfMWuZjgIAiEAs7bSaSTpn2Ty4apB648t02yD\n"
    "Si1n8bOe7BJa6XTKPqE=\n"
    "-----END CERTIFICATE-----\n";

}  // namespace linetls::fuzz_certs
