package notify_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpServer is a small in-process SMTP server on a loopback listener:
// EHLO/HELO, STARTTLS, AUTH PLAIN and LOGIN, MAIL, RCPT, DATA, RSET,
// NOOP, QUIT. It keeps what it accepted and answers RCPT as its rcpt
// function says, so tests can make it reject addresses.
type smtpServer struct {
	t        *testing.T
	ln       net.Listener
	tls      *tls.Config // offered by STARTTLS (or used from the start when implicit)
	implicit bool
	mechs    string // AUTH mechanisms offered ("" with no user: no AUTH)
	user     string
	password string

	mu    sync.Mutex
	mails []receivedMail
	// rcpt answers RCPT TO for an address: "" accepts it, else the reply
	// line ("550 5.1.1 no such user").
	rcpt func(addr string) string
	wg   sync.WaitGroup
}

// receivedMail is a message the server accepted.
type receivedMail struct {
	From     string
	To       []string
	Data     string // as received, dot-unstuffed, LF line ends
	TLS      bool
	AuthUser string
}

type smtpServerOptions struct {
	StartTLS bool   // offer STARTTLS
	Implicit bool   // TLS from the first byte
	User     string // require AUTH with this user and Password
	Password string
	Mechs    string // AUTH mechanisms offered (default "PLAIN LOGIN")
}

func startSMTPServer(t *testing.T, o smtpServerOptions) *smtpServer {
	t.Helper()
	s := &smtpServer{t: t, implicit: o.Implicit, user: o.User, password: o.Password, mechs: o.Mechs}
	if s.mechs == "" {
		s.mechs = "PLAIN LOGIN"
	}
	if o.StartTLS || o.Implicit {
		s.tls = &tls.Config{Certificates: []tls.Certificate{testCert.cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.Implicit {
		ln = tls.NewListener(ln, s.tls)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.close)
	return s
}

func (s *smtpServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *smtpServer) close() {
	_ = s.ln.Close()
	s.wg.Wait()
}

func (s *smtpServer) setRcpt(f func(addr string) string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcpt = f
}

func (s *smtpServer) received() []receivedMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]receivedMail(nil), s.mails...)
}

func (s *smtpServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.session(c)
		}()
	}
}

func (s *smtpServer) session(c net.Conn) {
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	_, isTLS := c.(*tls.Conn)
	tp := textproto.NewConn(c)
	reply := func(format string, args ...any) bool { return tp.PrintfLine(format, args...) == nil }
	var authUser, from string
	var to []string
	if !reply("220 test.invalid ESMTP ready") {
		return
	}
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			lines := []string{"test.invalid greets " + arg, "8BITMIME", "PIPELINING"}
			if s.tls != nil && !isTLS {
				lines = append(lines, "STARTTLS")
			}
			if s.user != "" {
				lines = append(lines, "AUTH "+s.mechs)
			}
			for i, l := range lines {
				sep := "-"
				if i == len(lines)-1 {
					sep = " "
				}
				if !reply("250%s%s", sep, l) {
					return
				}
			}
		case "HELO":
			reply("250 test.invalid")
		case "STARTTLS":
			if s.tls == nil || isTLS {
				reply("502 5.5.1 no STARTTLS here")
				continue
			}
			if !reply("220 2.0.0 go ahead") {
				return
			}
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, isTLS = tc, true
			tp = textproto.NewConn(tc)
			authUser, from, to = "", "", nil // RFC 3207: forget the session
		case "AUTH":
			user, ok := s.auth(tp, arg)
			if !ok {
				reply("535 5.7.8 authentication credentials invalid")
				continue
			}
			authUser = user
			reply("235 2.7.0 authenticated")
		case "MAIL":
			if s.user != "" && authUser == "" {
				reply("530 5.7.0 authentication required")
				continue
			}
			from, to = angle(arg), nil
			reply("250 2.1.0 ok")
		case "RCPT":
			addr := angle(arg)
			s.mu.Lock()
			f := s.rcpt
			s.mu.Unlock()
			if f != nil {
				if r := f(addr); r != "" {
					reply("%s", r)
					continue
				}
			}
			to = append(to, addr)
			reply("250 2.1.5 ok")
		case "DATA":
			if from == "" || len(to) == 0 {
				reply("503 5.5.1 need MAIL and RCPT first")
				continue
			}
			if !reply("354 end with <CRLF>.<CRLF>") {
				return
			}
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.mails = append(s.mails, receivedMail{From: from, To: to, Data: string(data), TLS: isTLS, AuthUser: authUser})
			s.mu.Unlock()
			from, to = "", nil
			reply("250 2.0.0 queued")
		case "RSET":
			from, to = "", nil
			reply("250 2.0.0 ok")
		case "NOOP":
			reply("250 2.0.0 ok")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("502 5.5.2 command not recognised")
		}
	}
}

// auth runs AUTH PLAIN or LOGIN; it refuses both over plain text.
func (s *smtpServer) auth(tp *textproto.Conn, arg string) (string, bool) {
	mech, initial, _ := strings.Cut(arg, " ")
	read := func(prompt string) (string, bool) {
		if err := tp.PrintfLine("334 %s", prompt); err != nil {
			return "", false
		}
		l, err := tp.ReadLine()
		if err != nil || l == "*" {
			return "", false
		}
		b, err := base64.StdEncoding.DecodeString(l)
		return string(b), err == nil
	}
	if !strings.Contains(" "+s.mechs+" ", " "+strings.ToUpper(mech)+" ") {
		return "", false
	}
	switch strings.ToUpper(mech) {
	case "PLAIN":
		var resp string
		if initial != "" {
			b, err := base64.StdEncoding.DecodeString(initial)
			if err != nil {
				return "", false
			}
			resp = string(b)
		} else {
			var ok bool
			if resp, ok = read(""); !ok {
				return "", false
			}
		}
		parts := strings.Split(resp, "\x00")
		if len(parts) != 3 || parts[1] != s.user || parts[2] != s.password {
			return "", false
		}
		return parts[1], true
	case "LOGIN":
		user, ok := read(base64.StdEncoding.EncodeToString([]byte("Username:")))
		if !ok {
			return "", false
		}
		pass, ok := read(base64.StdEncoding.EncodeToString([]byte("Password:")))
		if !ok || user != s.user || pass != s.password {
			return "", false
		}
		return user, true
	}
	return "", false
}

// angle returns the address of "FROM:<a@b> SIZE=1" or "TO:<a@b>".
func angle(arg string) string {
	i, j := strings.IndexByte(arg, '<'), strings.IndexByte(arg, '>')
	if i < 0 || j < i {
		return ""
	}
	return arg[i+1 : j]
}

// testCert is a self-signed certificate for 127.0.0.1 and localhost,
// made once per test binary; roots trusts it.
var testCert = func() struct {
	cert  tls.Certificate
	roots *x509.CertPool
} {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "notify test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return struct {
		cert  tls.Certificate
		roots *x509.CertPool
	}{tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots}
}()
