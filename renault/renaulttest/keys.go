package renaulttest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"sync"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// NewKeyPair generates a 2048-bit RSA key and a self-signed certificate for
// it, valid from a day ago for ten years, named cn. It is what a Renault
// B2B client holds in its PKCS#12 bundle, minus Renault's signature.
func NewKeyPair(cn string) (*rsa.PrivateKey, *x509.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("renaulttest: generate RSA key: %w", err)
	}

	cert, err := selfSign(cn, key, &key.PublicKey)
	if err != nil {
		return nil, nil, err
	}

	return key, cert, nil
}

// NewECKeyPair generates a P-256 ECDSA key and a self-signed certificate,
// for testing a bundle that holds no RSA key.
func NewECKeyPair(cn string) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("renaulttest: generate ECDSA key: %w", err)
	}

	cert, err := selfSign(cn, key, &key.PublicKey)
	if err != nil {
		return nil, nil, err
	}

	return key, cert, nil
}

func selfSign(cn string, signer crypto.Signer, pub any) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("renaulttest: certificate serial: %w", err)
	}

	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"vehicleinfo simulator"}},
		NotBefore:    now.Add(-24 * time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}

	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("renaulttest: create certificate: %w", err)
	}

	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("renaulttest: parse certificate: %w", err)
	}

	return cert, nil
}

// PKCS12 encodes key and cert as a PKCS#12 bundle (DER) with enc, one of
// pkcs12.Modern2023, pkcs12.Modern2026, pkcs12.LegacyDES or
// pkcs12.LegacyRC2.
func PKCS12(enc *pkcs12.Encoder, key any, cert *x509.Certificate, password string) ([]byte, error) {
	der, err := enc.Encode(key, cert, nil, password)
	if err != nil {
		return nil, fmt.Errorf("renaulttest: encode PKCS#12: %w", err)
	}

	return der, nil
}

// Base64 wraps DER as the old module's pkcs12.txt held it: standard base64
// in lines of 76 characters.
func Base64(der []byte) string {
	s := base64.StdEncoding.EncodeToString(der)
	var out []byte
	for len(s) > 76 {
		out = append(out, s[:76]...)
		out = append(out, '\n')
		s = s[76:]
	}

	out = append(out, s...)

	return string(append(out, '\n'))
}

// The simulators of one process share one generated key pair unless told
// otherwise, because generating RSA keys is slow.
var (
	sharedOnce sync.Once
	sharedKey  *rsa.PrivateKey
	sharedCert *x509.Certificate
	sharedErr  error
)

func sharedKeyPair() (*rsa.PrivateKey, *x509.Certificate, error) {
	sharedOnce.Do(func() {
		sharedKey, sharedCert, sharedErr = NewKeyPair("fake-renault-client")
	})

	return sharedKey, sharedCert, sharedErr
}
