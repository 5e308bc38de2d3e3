package io.pgferry.agent.config;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An in-memory key store from PEM files, with the JDK alone: a certificate chain (leaf first) and an unencrypted
 * private key, PKCS#8 ({@code BEGIN PRIVATE KEY}, RSA, EC or Ed25519) or PKCS#1 ({@code BEGIN RSA PRIVATE KEY}).
 * Every failure is an {@link IllegalArgumentException} whose message says how to fix the file.
 */
public final class PemKeyStore {
    /** Protects the key inside the in-memory store only; the store is never written anywhere. */
    public static final char[] PASSWORD = "pgferry-in-memory".toCharArray();
    static final String ALIAS = "agent";
    private static final Pattern BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]*?)-----END \\1-----");
    /** AlgorithmIdentifier of rsaEncryption, DER: SEQUENCE { OID 1.2.840.113549.1.1.1, NULL }. */
    private static final byte[] RSA_ALGORITHM = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86,
            (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};

    private PemKeyStore() {
    }

    public static KeyStore load(Path certFile, Path keyFile) {
        List<X509Certificate> chain = certificates(certFile);
        PrivateKey key = privateKey(keyFile);
        requireMatch(key, chain.get(0).getPublicKey(), certFile, keyFile);
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry(ALIAS, key, PASSWORD, chain.toArray(new Certificate[0]));
            return ks;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException("cannot build a key store from " + certFile + " and " + keyFile
                    + " (" + e.getClass().getSimpleName() + ")");
        }
    }

    static List<X509Certificate> certificates(Path file) {
        String text = read(file);
        List<X509Certificate> out = new ArrayList<>();
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            for (Matcher m = BLOCK.matcher(text); m.find(); ) {
                if (m.group(1).equals("CERTIFICATE")) {
                    out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der(m, file))));
                }
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(file + " holds a CERTIFICATE block that is not a valid X.509 "
                    + "certificate; write the PEM certificate chain, the agent's certificate first");
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(file + " holds no -----BEGIN CERTIFICATE----- block; write the PEM "
                    + "certificate chain, the agent's certificate first");
        }
        return out;
    }

    static PrivateKey privateKey(Path file) {
        String text = read(file);
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            String type = m.group(1);
            switch (type) {
                case "PRIVATE KEY":
                    return pkcs8(der(m, file), file);
                case "RSA PRIVATE KEY":
                    return pkcs8(wrapPkcs1(der(m, file)), file);
                case "ENCRYPTED PRIVATE KEY", "EC PRIVATE KEY":
                    throw new IllegalArgumentException(file + " holds an " + type + " block, which the agent does "
                            + "not read; convert it to an unencrypted PKCS#8 key: openssl pkcs8 -topk8 -nocrypt -in "
                            + file + " -out <new file> (chmod 600)");
                default:
                    break;
            }
        }
        throw new IllegalArgumentException(file + " holds no -----BEGIN PRIVATE KEY----- block; write the PEM "
                + "private key (PKCS#8, unencrypted) of the certificate");
    }

    private static PrivateKey pkcs8(byte[] der, Path file) {
        for (String algorithm : List.of("RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new IllegalArgumentException(file + " holds a private key that is not RSA, EC or Ed25519 in PKCS#8; "
                + "write an unencrypted PKCS#8 key (openssl pkcs8 -topk8 -nocrypt)");
    }

    private static void requireMatch(PrivateKey key, PublicKey pub, Path certFile, Path keyFile) {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            default -> key.getAlgorithm();
        };
        try {
            byte[] probe = new byte[32];
            new SecureRandom().nextBytes(probe);
            Signature s = Signature.getInstance(algorithm);
            s.initSign(key);
            s.update(probe);
            byte[] signature = s.sign();
            Signature v = Signature.getInstance(algorithm);
            v.initVerify(pub);
            v.update(probe);
            if (v.verify(signature)) {
                return;
            }
        } catch (GeneralSecurityException e) {
            // reported below
        }
        throw new IllegalArgumentException("the private key in " + keyFile + " does not belong to the first "
                + "certificate in " + certFile + "; put the agent's own certificate first and its key in the key file");
    }

    /** PKCS#1 RSAPrivateKey into PKCS#8: SEQUENCE { INTEGER 0, rsaEncryption, OCTET STRING pkcs1 }. */
    private static byte[] wrapPkcs1(byte[] pkcs1) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(new byte[] {0x02, 0x01, 0x00});
        body.writeBytes(RSA_ALGORITHM);
        body.write(0x04);
        body.writeBytes(length(pkcs1.length));
        body.writeBytes(pkcs1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x30);
        out.writeBytes(length(body.size()));
        out.writeBytes(body.toByteArray());
        return out.toByteArray();
    }

    private static byte[] length(int n) {
        if (n < 0x80) {
            return new byte[] {(byte) n};
        }
        if (n < 0x100) {
            return new byte[] {(byte) 0x81, (byte) n};
        }
        if (n < 0x10000) {
            return new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n};
        }
        return new byte[] {(byte) 0x83, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
    }

    private static byte[] der(Matcher m, Path file) {
        try {
            return Base64.getMimeDecoder().decode(m.group(2).replaceAll("\\s", ""));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + " has a " + m.group(1) + " block that is not valid base64; "
                    + "write the PEM file again");
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + " cannot be read (" + e.getClass().getSimpleName()
                    + "); make it readable by the agent's user");
        }
    }
}
