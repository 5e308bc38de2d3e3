package io.pgferry.agent.safety;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgferry.agent.Agent;
import io.pgferry.agent.config.AgentConfig;
import io.pgferry.agent.config.ConfigException;
import io.pgferry.agent.config.ConfigLoader;
import io.pgferry.agent.config.Setting;
import io.pgferry.agent.testbed.AgentFixture;
import io.pgferry.agent.testbed.PgBed;
import io.pgferry.agent.testbed.PgCluster;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * HTTPS from PEM files: a certificate made here with openssl, a real agent serving it, a real TLS client that
 * trusts only that certificate; and the config checks that keep a broken or exposed key from starting the agent.
 */
@PgBed(major = 18)
class TlsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static PgCluster cluster;
    static Path dir;
    static Path cert;
    static Path key;

    @BeforeAll
    static void certificates() throws Exception {
        dir = Files.createTempDirectory("pgferry-tls");
        cert = dir.resolve("agent.crt");
        key = dir.resolve("agent.key");
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(), "-out", cert.toString(),
                "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1");
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
    }

    @Test
    void servesHttpsWithTheConfiguredCertificateAndNotPlainHttp() throws Exception {
        String token = AgentFixture.newToken();
        Path adir = dir.resolve("agent");
        Files.createDirectories(adir);
        Path tokenFile = AgentFixture.secretFile(adir, "token", token);
        AgentConfig config = config(AgentFixture.configFor(cluster, adir, tokenFile, AgentFixture.freePort()),
                adir, cert, key);
        assertTrue(config.tls().isPresent());
        try (Agent agent = Agent.start(config, System.getenv("PATH"))) {
            HttpClient trusting = HttpClient.newBuilder().sslContext(trusting(cert))
                    .connectTimeout(Duration.ofSeconds(5)).build();
            URI https = URI.create("https://127.0.0.1:" + agent.port());
            HttpResponse<String> health = trusting.send(HttpRequest.newBuilder(https.resolve("/v1/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, health.statusCode(), health.body());
            assertEquals("https", health.uri().getScheme());
            HttpResponse<String> info = trusting.send(HttpRequest.newBuilder(https.resolve("/v1/info"))
                    .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, info.statusCode(), info.body());
            assertEquals(cluster.major(), JSON.readTree(info.body()).get("major").asInt());
            HttpResponse<String> noToken = trusting.send(HttpRequest.newBuilder(https.resolve("/v1/info")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(401, noToken.statusCode());

            // A client that does not trust the certificate refuses the connection.
            HttpClient strict = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            assertThrows(SSLHandshakeException.class, () -> strict.send(HttpRequest.newBuilder(
                    https.resolve("/v1/health")).build(), HttpResponse.BodyHandlers.ofString()));

            // Plain HTTP to the TLS port gets no answer from the API.
            HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            URI http = URI.create("http://127.0.0.1:" + agent.port() + "/v1/health");
            try {
                HttpResponse<String> r = plain.send(HttpRequest.newBuilder(http).timeout(Duration.ofSeconds(10))
                        .build(), HttpResponse.BodyHandlers.ofString());
                assertTrue(r.statusCode() >= 400 && !r.body().contains("\"status\""),
                        "plain HTTP got " + r.statusCode() + ": " + r.body());
            } catch (IOException expected) {
                // the TLS connector drops a connection that does not start with a TLS handshake
            }
        }
    }

    @Test
    void certificateAndKeyGoTogether() throws Exception {
        assertConfigError(List.of(new Setting("tls_cert_file", cert.toString(), "flag --tls-cert-file")),
                "tls_key_file: not set");
        assertConfigError(List.of(new Setting("tls_key_file", key.toString(), "flag --tls-key-file")),
                "tls_cert_file: not set");
    }

    @Test
    void keyOpenToOthersIsRefused() throws Exception {
        Path open = dir.resolve("open.key");
        Files.copy(key, open);
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-r--r--"));
        assertConfigError(tls(cert, open), "open to group or others");
    }

    @Test
    void keyOfAnotherCertificateIsRefused() throws Exception {
        Path other = dir.resolve("other.key");
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", other.toString());
        Files.setPosixFilePermissions(other, PosixFilePermissions.fromString("rw-------"));
        assertConfigError(tls(cert, other), "does not belong to the first certificate");
    }

    @Test
    void notPemIsRefusedWithTheFix() throws Exception {
        Path junk = dir.resolve("junk.pem");
        Files.writeString(junk, "not a certificate\n");
        assertConfigError(tls(junk, key), "no -----BEGIN CERTIFICATE----- block");
        Path ecKey = dir.resolve("ec.key");
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ecKey.toString());
        Files.setPosixFilePermissions(ecKey, PosixFilePermissions.fromString("rw-------"));
        assertConfigError(tls(cert, ecKey), "openssl pkcs8 -topk8 -nocrypt");
    }

    @Test
    void ecAndPkcs1KeysLoad() throws Exception {
        Path ecKey = dir.resolve("ec8.key");
        Path ecCert = dir.resolve("ec.crt");
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                ecKey.toString(), "-out", ecCert.toString(), "-days", "2", "-subj", "/CN=localhost");
        Files.setPosixFilePermissions(ecKey, PosixFilePermissions.fromString("rw-------"));
        assertTrue(load(tls(ecCert, ecKey)).tls().isPresent());
        Path rsa1 = dir.resolve("pkcs1.key");
        openssl("rsa", "-in", key.toString(), "-traditional", "-out", rsa1.toString());
        Files.setPosixFilePermissions(rsa1, PosixFilePermissions.fromString("rw-------"));
        assertTrue(Files.readString(rsa1).contains("BEGIN RSA PRIVATE KEY"));
        assertTrue(load(tls(cert, rsa1)).tls().isPresent());
    }

    // ------------------------------------------------------------ helpers

    private static List<Setting> tls(Path certFile, Path keyFile) {
        return List.of(new Setting("tls_cert_file", certFile.toString(), "flag --tls-cert-file"),
                new Setting("tls_key_file", keyFile.toString(), "flag --tls-key-file"));
    }

    private static AgentConfig load(List<Setting> flags) throws Exception {
        Path adir = Files.createTempDirectory(dir, "cfg");
        Path tokenFile = AgentFixture.secretFile(adir, "token", AgentFixture.newToken());
        List<Setting> all = new ArrayList<>(flags);
        all.add(new Setting("token_file", tokenFile.toString(), "flag --token-file"));
        all.add(new Setting("state_dir", adir.resolve("state").toString(), "flag --state-dir"));
        return ConfigLoader.load(null, Map.of(), all);
    }

    private static void assertConfigError(List<Setting> flags, String expected) {
        ConfigException e = assertThrows(ConfigException.class, () -> load(flags));
        assertTrue(String.join("\n", e.errors()).contains(expected), e.errors().toString());
    }

    /** The test config with the TLS keys added, loaded through the real loader. */
    private static AgentConfig config(AgentConfig plain, Path adir, Path certFile, Path keyFile) throws Exception {
        Path yaml = adir.resolve("agent.yaml");
        Files.writeString(yaml, Files.readString(yaml) + "tls_cert_file: " + certFile + "\ntls_key_file: " + keyFile
                + "\n");
        return ConfigLoader.load(yaml, Map.of(), List.of());
    }

    private static SSLContext trusting(Path certFile) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(certFile)) {
            trust.setCertificateEntry("agent", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(null, tmf.getTrustManagers(), null);
        return ssl;
    }

    private static void openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "openssl hung");
        assertEquals(0, p.exitValue(), "openssl " + args[0] + ": " + out);
    }
}
