package renaulttest_test

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"

	"software.sslmate.com/src/go-pkcs12"
)

func pkcs12Key(der []byte, password string) (*rsa.PrivateKey, *x509.Certificate, error) {
	k, cert, err := pkcs12.Decode(der, password)
	if err != nil {
		return nil, nil, err
	}

	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, errors.New("not an RSA key")
	}

	return rk, cert, nil
}
