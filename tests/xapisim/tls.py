"""HTTPS for the simulator: each host's self-signed certificate, made at test time
with the `openssl` command (no Python package needed), the way xapi makes its own
at first boot (ocaml/gencert/selfcert.ml host: CN = the host's name, subject
alternative names = its DNS name and IP address)."""
import hashlib
import os
import shutil
import ssl
import subprocess

VALID_DAYS = 3650


def available():
    """Whether certificates can be made here (the openssl command exists)."""
    return shutil.which("openssl") is not None


def make_host_certificate(directory, name, address):
    """(certificate path, key path) of a new self-signed RSA certificate."""
    cert = os.path.join(directory, f"{name}.pem")
    key = os.path.join(directory, f"{name}.key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
         "-days", str(VALID_DAYS), "-subj", f"/CN={name}", "-keyout", key, "-out", cert,
         "-addext", f"subjectAltName=DNS:{name},IP:{address}"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return cert, key


def fingerprint(cert_path):
    """The certificate's SHA-256 fingerprint as xapi shows it (certificates.ml
    pp_hash: uppercase hex octets joined by colons), e.g. in xe certificate-list."""
    with open(cert_path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def server_context(cert_path, key_path):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context
