#!/bin/sh
# Regenerates the test certificates and keys in this directory with the openssl CLI
# (OpenSSL 3.0). The outputs are committed; rerunning makes new keys, so only do it when the
# set needs to change, and commit everything together.
#
# Every certificate has fixed dates (openssl ca -startdate/-enddate), so no test depends on
# when this script ran:
#   good      2024-01-01 .. 2049-12-31   (leaves, intermediate, CAs)
#   expired   2001-01-01 .. 2002-01-01   (expired forever)
#   not yet   2090-01-01 .. 2099-12-31
#
# Files:
#   ca.pem/.key              root CA (ECDSA P-256) that signs everything below but other_*
#   int.pem/.key             intermediate CA (ECDSA P-256) signed by ca
#   rsa2048.pem/.key         server leaf, RSA-2048            (serverAuth), signed by ca
#   ecdsa256.pem/.key        server leaf, ECDSA P-256         (serverAuth), signed by ca
#   ecdsa384.pem/.key        server leaf, ECDSA P-384         (serverAuth), signed by ca
#   ed25519.pem/.key         server leaf, Ed25519             (serverAuth), signed by ca
#   *_chain.pem              the leaf followed by ca.pem
#   client.pem/.key          client leaf, ECDSA P-256 (clientAuth), signed by int
#   client_ca.pem/.key       client leaf, RSA-2048 (clientAuth), signed by ca directly
#   client256.pem/.key       client leaf, ECDSA P-256 (clientAuth), signed by ca directly
#   expired.pem/.key         leaf (serverAuth+clientAuth) signed by ca, expired
#   notyet.pem/.key          leaf (serverAuth+clientAuth) signed by ca, not yet valid
#   other_ca.pem/.key        an unrelated root CA
#   other_client.pem/.key    client leaf signed by other_ca (unknown CA)
#   ecdsa256_enc_pkcs8.key   ecdsa256.key as encrypted PKCS#8, password "linetls-test"
#   rsa2048_enc_legacy.key   rsa2048.key as legacy encrypted PEM, password "linetls-test"
#   mismatch.key             a P-256 key that matches no certificate
#   rsa1024.key              too small to load
#   p521.key                 a curve we do not support
#   malformed.pem            a CERTIFICATE block whose DER is cut short
#   garbage.pem              a CERTIFICATE block that is not base64
#   nocert.pem               text without any PEM block
set -eu

cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

good_start=20240101000000Z
good_end=20491231235959Z
password=linetls-test

cat > "$work/ca.cnf" <<'EOF'
[ca]
default_ca = ca_default

[ca_default]
dir = $ENV::LT_CA_DIR
database = $dir/index.txt
new_certs_dir = $dir/new
serial = $dir/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no

[policy_any]
commonName = supplied
organizationName = optional

[req]
distinguished_name = req_dn
prompt = no

[req_dn]
CN = unused

[ext_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ext_server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = $ENV::LT_SAN

[ext_client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = $ENV::LT_SAN

[ext_both]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = $ENV::LT_SAN
EOF

# new_ca_dir NAME: a fresh openssl ca database for one issuing CA.
new_ca_dir() {
  mkdir -p "$work/$1/new"
  : > "$work/$1/index.txt"
  echo 1000 > "$work/$1/serial"
}

genkey() {  # genkey FILE ALGORITHM [pkeyopt...]
  file=$1
  alg=$2
  shift 2
  opts=""
  for o in "$@"; do
    opts="$opts -pkeyopt $o"
  done
  # shellcheck disable=SC2086
  openssl genpkey -quiet -algorithm "$alg" $opts -out "$file"
}

# issue CA_NAME CA_CERT CA_KEY KEY OUT CN EXT START END SAN [-selfsign]
issue() {
  ca_name=$1; ca_cert=$2; ca_key=$3; key=$4; out=$5; cn=$6; ext=$7; start=$8; end=$9
  san=${10}
  openssl req -new -config "$work/ca.cnf" -key "$key" -subj "/O=linetls test/CN=$cn" \
    -out "$work/req.csr"
  if [ "${11:-}" = "-selfsign" ]; then
    set -- -selfsign
  else
    set -- -cert "$ca_cert"
  fi
  LT_CA_DIR="$work/$ca_name" LT_SAN="$san" openssl ca -batch -notext -config "$work/ca.cnf" \
    "$@" -keyfile "$ca_key" -in "$work/req.csr" -out "$out" -extensions "$ext" \
    -startdate "$start" -enddate "$end" 2> "$work/ca.log" || { cat "$work/ca.log"; exit 1; }
}

# The config refers to these; openssl req reads the whole file.
export LT_CA_DIR="$work/ca"
export LT_SAN="DNS:unused"

new_ca_dir ca
new_ca_dir int
new_ca_dir other

# Roots and the intermediate.
genkey ca.key EC ec_paramgen_curve:P-256
issue ca "" ca.key ca.key ca.pem "linetls test root" ext_ca $good_start $good_end \
  "DNS:unused" -selfsign
genkey other_ca.key EC ec_paramgen_curve:P-256
issue other "" other_ca.key other_ca.key other_ca.pem "linetls other root" ext_ca \
  $good_start $good_end "DNS:unused" -selfsign
genkey int.key EC ec_paramgen_curve:P-256
issue ca ca.pem ca.key int.key int.pem "linetls test intermediate" ext_ca $good_start $good_end \
  "DNS:unused"

# Server leaves, one per key type.
genkey rsa2048.key RSA rsa_keygen_bits:2048
issue ca ca.pem ca.key rsa2048.key rsa2048.pem rsa.test ext_server $good_start $good_end \
  "DNS:rsa.test,IP:10.99.0.2"
genkey ecdsa256.key EC ec_paramgen_curve:P-256
issue ca ca.pem ca.key ecdsa256.key ecdsa256.pem ecdsa256.test ext_server $good_start $good_end \
  "DNS:ecdsa256.test"
genkey ecdsa384.key EC ec_paramgen_curve:P-384
issue ca ca.pem ca.key ecdsa384.key ecdsa384.pem ecdsa384.test ext_server $good_start $good_end \
  "DNS:ecdsa384.test"
genkey ed25519.key ED25519
issue ca ca.pem ca.key ed25519.key ed25519.pem ed25519.test ext_server $good_start $good_end \
  "DNS:ed25519.test"
for leaf in rsa2048 ecdsa256 ecdsa384 ed25519; do
  cat "$leaf.pem" ca.pem > "${leaf}_chain.pem"
done

# Client leaves.
genkey client.key EC ec_paramgen_curve:P-256
issue int int.pem int.key client.key client.pem client.test ext_client $good_start $good_end \
  "DNS:client.test,email:client@linetls.test"
genkey client_ca.key RSA rsa_keygen_bits:2048
issue ca ca.pem ca.key client_ca.key client_ca.pem client-direct.test ext_client \
  $good_start $good_end "DNS:client-direct.test"
genkey client256.key EC ec_paramgen_curve:P-256
issue ca ca.pem ca.key client256.key client256.pem client256.test ext_client \
  $good_start $good_end "DNS:client256.test"
genkey other_client.key EC ec_paramgen_curve:P-256
issue other other_ca.pem other_ca.key other_client.key other_client.pem other-client.test \
  ext_client $good_start $good_end "DNS:other-client.test"

# Out-of-date leaves.
genkey expired.key EC ec_paramgen_curve:P-256
issue ca ca.pem ca.key expired.key expired.pem expired.test ext_both \
  20010101000000Z 20020101000000Z "DNS:expired.test"
genkey notyet.key EC ec_paramgen_curve:P-256
issue ca ca.pem ca.key notyet.key notyet.pem notyet.test ext_both \
  20900101000000Z 20991231235959Z "DNS:notyet.test"

# Keys that must not load, or not match.
openssl pkcs8 -topk8 -v2 aes-256-cbc -in ecdsa256.key -passout "pass:$password" \
  -out ecdsa256_enc_pkcs8.key
openssl rsa -in rsa2048.key -aes256 -traditional -passout "pass:$password" \
  -out rsa2048_enc_legacy.key 2> /dev/null
genkey mismatch.key EC ec_paramgen_curve:P-256
genkey rsa1024.key RSA rsa_keygen_bits:1024
genkey p521.key EC ec_paramgen_curve:P-521

# Certificate files that must not parse.
{
  echo "-----BEGIN CERTIFICATE-----"
  openssl x509 -in ecdsa256.pem -outform DER | head -c 200 | openssl base64
  echo "-----END CERTIFICATE-----"
} > malformed.pem
printf -- '-----BEGIN CERTIFICATE-----\nthis is not base64 !!\n-----END CERTIFICATE-----\n' \
  > garbage.pem
echo "no PEM blocks in this file" > nocert.pem

echo "certificates written to $(pwd)"
