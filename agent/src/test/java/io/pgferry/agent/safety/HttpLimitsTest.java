package io.pgferry.agent.safety;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.AgentHandle.Answer;
import io.pgferry.agent.testbed.PgBed;
import io.pgferry.agent.testbed.PgCluster;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What an HTTP client can do to the agent short of a valid request: bodies built to make a JSON parser work hard,
 * bodies that never end, and a flood of anonymous health checks. Each gets a clear answer and costs the agent (and
 * its PostgreSQL) almost nothing.
 */
@PgBed(major = 16)
class HttpLimitsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    static PgCluster cluster;
    static Path dir;
    static AgentHandle agent;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("pgferry-limits");
        agent = AgentHandle.start(cluster, dir);
        BadInputTest.sql(cluster, "postgres", "CREATE DATABASE shop");
    }

    @AfterAll
    static void stop() {
        if (agent != null) {
            agent.close();
        }
    }

    @Test
    void pathologicalJsonIs400NamingTheLimit() throws Exception {
        String publication = "/v1/migrations/json/publication";
        String postData = "/v1/migrations/json/post-data";
        Map<String, String> bodies = Map.of(
                "nested deeper than", "{\"database\": \"shop\", \"x\": " + "[".repeat(100_000) + "]".repeat(100_000)
                        + "}",
                "nested deeper ", "{\"a\":".repeat(100_000) + "1" + "}".repeat(100_000),
                "a number longer than", "{\"database\": \"shop\", \"jobs\": " + "9".repeat(900_000) + "}",
                "out of range", "{\"database\": \"shop\", \"jobs\": 99999999999999999999}",
                "a field name longer than", "{\"" + "n".repeat(100_000) + "\": 1}",
                "JSON null", "null");
        for (Map.Entry<String, String> b : bodies.entrySet()) {
            for (String path : List.of(publication, postData)) {
                Answer a = agent.send(path.endsWith("post-data") ? "POST" : "PUT", path,
                        b.getValue().getBytes(StandardCharsets.UTF_8));
                assertEquals(400, a.status(), () -> b.getKey() + ": " + new String(a.raw(), StandardCharsets.UTF_8));
                assertEquals("invalid_request", a.at("/code").asText());
                if (!b.getKey().equals("out of range") || path.equals(postData)) {
                    assertTrue(a.at("/detail").asText().contains(b.getKey().strip()), a.body().toString());
                }
            }
        }
        // A huge string: past the 1 MiB limit while it streams in (chunked, so no Content-Length to check).
        HttpResponse<String> big = tooLargeWhileStreaming(publication);
        assertEquals(413, big.statusCode(), big.body());
        assertEquals("body_too_large", JSON.readTree(big.body()).get("code").asText());
        assertEquals(200, agent.get("/v1/info").status(), "the agent is fine");
        // Refused by Jetty before any route: still a problem document, not an HTML page.
        for (String path : List.of("/v1/migrations/f%00z/status?database=shop", "/v1/migrations/a%2F..%2Fb/status")) {
            Answer odd = agent.get(path);
            assertEquals(400, odd.status(), new String(odd.raw(), StandardCharsets.UTF_8));
            assertTrue(odd.response().headers().firstValue("Content-Type").orElse("").startsWith(
                    "application/problem+json") && odd.at("/code").asText().matches("bad_request|invalid_request"),
                    new String(odd.raw(), StandardCharsets.UTF_8));
        }
    }

    /**
     * The agent answers 413 as soon as the body passes the limit and closes the connection, possibly while the client
     * still writes the rest: then the client sees a reset instead of the answer. The body is only a little over the
     * limit, so the rest usually fits in the socket buffers, and a reset is tried again (at most three times).
     */
    private HttpResponse<String> tooLargeWhileStreaming(String path) throws Exception {
        IOException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            try {
                return HTTP.send(HttpRequest.newBuilder(agent.base().resolve(path))
                        .header("Authorization", "Bearer " + agent.token()).header("Content-Type", "application/json")
                        .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.SequenceInputStream(
                                new java.io.ByteArrayInputStream("{\"database\": \"".getBytes(StandardCharsets.UTF_8)),
                                new java.io.ByteArrayInputStream(new byte[1024 * 1024 + 64 * 1024])))).build(),
                        HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                last = e;
            }
        }
        throw last;
    }

    @Test
    void aWriteIntoAFencedDatabaseIs409NotAServerError() throws Exception {
        assertEquals(200, agent.put("/v1/migrations/ro/fence", Map.of("database", "shop", "terminate", false))
                .status());
        try {
            Answer a = agent.put("/v1/migrations/ro/replication-role", Map.of("database", "shop",
                    "password", "a-fine-password-123"));
            assertEquals(409, a.status(), a.body().toString());
            assertEquals("database_read_only", a.at("/code").asText());
            assertTrue(a.at("/detail").asText().contains("DELETE /v1/migrations/{m}/fence"), a.body().toString());
        } finally {
            assertEquals(200, agent.delete("/v1/migrations/ro/fence?database=shop").status());
        }
    }

    @Test
    void neverEndingBodiesDoNotStallHealth() throws Exception {
        List<Socket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < 20; i++) {
                Socket s = new Socket(agent.base().getHost(), agent.base().getPort());
                s.setSoTimeout(2000);
                OutputStream out = s.getOutputStream();
                out.write(("PUT /v1/migrations/stall" + i + "/publication HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        + "Authorization: Bearer " + agent.token() + "\r\nContent-Type: application/json\r\n"
                        + "Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                sockets.add(s);
            }
            Thread.sleep(500);
            long started = System.nanoTime();
            HttpResponse<String> health = HTTP.send(HttpRequest.newBuilder(agent.base().resolve("/v1/health"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            long millis = Duration.ofNanos(System.nanoTime() - started).toMillis();
            assertEquals(200, health.statusCode(), health.body());
            assertTrue(millis < 2000, "health took " + millis + " ms beside 20 stalled bodies");
            // Beyond the slots, the stalled requests were turned away at once.
            int busy = 0;
            List<Socket> held = new ArrayList<>();
            for (Socket s : sockets) {
                String answer = firstLine(s);
                if (answer != null && answer.contains(" 503")) {
                    busy++;
                } else {
                    held.add(s);
                }
            }
            assertEquals(12, busy, "20 stalled requests, 8 slots");
            // The watch cuts the silent ones after 10 s; their slots come back.
            long deadline = System.nanoTime() + Duration.ofSeconds(25).toNanos();
            for (Socket s : held) {
                s.setSoTimeout((int) Math.max(1, Duration.ofNanos(deadline - System.nanoTime()).toMillis()));
                assertTrue(closed(s), "a stalled body was cut");
            }
            Answer after = agent.put("/v1/migrations/stall0/publication", Map.of("database", "shop",
                    "check", true));
            assertTrue(after.status() != 503 && after.status() < 500, after.body().toString());
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
    }

    @Test
    void healthLogsInToPostgresAtMostOncePerIntervalAndShowsNoVersionWithoutTheToken() throws Exception {
        BadInputTest.sql(cluster, "postgres", "ALTER SYSTEM SET log_connections = on");
        BadInputTest.sql(cluster, "postgres", "SELECT pg_reload_conf()");
        Thread.sleep(500);
        long from = Files.size(cluster.logFile());
        long started = System.nanoTime();
        int calls = 0;
        while (System.nanoTime() - started < Duration.ofSeconds(5).toNanos()) {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(agent.base().resolve("/v1/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            JsonNode body = JSON.readTree(r.body());
            assertNull(body.get("server_version"), "no version without the token: " + body);
            calls++;
        }
        double seconds = Duration.ofNanos(System.nanoTime() - started).toMillis() / 1000.0;
        Thread.sleep(500);
        BadInputTest.sql(cluster, "postgres", "ALTER SYSTEM RESET log_connections");
        BadInputTest.sql(cluster, "postgres", "SELECT pg_reload_conf()");
        String log;
        try (InputStream in = Files.newInputStream(cluster.logFile())) {
            in.skipNBytes(from);
            log = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        long logins = log.lines().filter(l -> l.contains("connection authorized")
                && l.contains("application_name=pgferry-agent")).count();
        assertTrue(calls > 50, "calls: " + calls);
        assertTrue(logins <= Math.ceil(seconds / 2) + 1, calls + " health calls in " + seconds + " s made " + logins
                + " PostgreSQL logins");
        Answer withToken = agent.get("/v1/health");
        assertTrue(withToken.at("/server_version").asText().startsWith("16."), withToken.body().toString());
        assertFalse(withToken.body().toString().contains(agent.token()));
    }

    /** The status line of an answer, or null if none came within the socket's timeout. */
    private static String firstLine(Socket s) throws Exception {
        try {
            byte[] buf = new byte[256];
            int n = s.getInputStream().read(buf);
            return n <= 0 ? null : new String(buf, 0, n, StandardCharsets.US_ASCII).lines().findFirst().orElse(null);
        } catch (SocketTimeoutException e) {
            return null;
        }
    }

    /** Whether the agent closed the connection (EOF or reset) before the socket's timeout, answer or not. */
    private static boolean closed(Socket s) throws Exception {
        InputStream in = s.getInputStream();
        byte[] buf = new byte[1024];
        try {
            while (in.read(buf) >= 0) {
                // an answer the agent may still send; the close follows
            }
            return true;
        } catch (SocketException e) {
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        }
    }
}
