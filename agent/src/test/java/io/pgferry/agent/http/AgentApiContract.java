package io.pgferry.agent.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgferry.agent.Agent;
import io.pgferry.agent.config.AgentConfig;
import io.pgferry.agent.config.PostgresConfig;
import io.pgferry.agent.health.HealthService;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.testbed.AgentFixture;
import io.pgferry.agent.testbed.PgCluster;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP API against a real PostgreSQL: subclasses pick the major with {@code @PgBed}. The agent runs
 * in-process on a free port with a real 0600 token file and the cluster's superuser password file.
 */
abstract class AgentApiContract {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    static PgCluster cluster;
    @TempDir
    static Path dir;
    static String token;
    static Agent agent;
    static URI base;
    /** Every body the agent sent, to check that no secret ever appears in one. */
    static final List<String> bodies = new ArrayList<>();

    @BeforeAll
    static void startAgent() throws Exception {
        bodies.clear();
        token = AgentFixture.newToken();
        Path tokenFile = AgentFixture.secretFile(dir, "token", token);
        AgentConfig config = AgentFixture.configFor(cluster, dir, tokenFile, AgentFixture.freePort());
        agent = Agent.start(config, System.getenv("PATH"));
        base = URI.create("http://127.0.0.1:" + agent.port());
    }

    @AfterAll
    static void stopAgent() {
        if (agent != null) {
            agent.close();
        }
        for (String body : bodies) {
            assertFalse(body.contains(token), "token leaked into a response body");
            assertFalse(body.contains(cluster.superuserPassword()), "password leaked into a response body");
        }
    }

    @Test
    void healthFollowsPostgresDownAndUp() throws Exception {
        HttpResponse<String> up = get("/v1/health", "Bearer " + token);
        assertEquals(200, up.statusCode());
        JsonNode body = JSON.readTree(up.body());
        assertEquals("ok", body.get("status").asText());
        assertEquals("up", body.get("postgres").asText());
        assertTrue(body.get("server_version").asText().startsWith(cluster.major() + "."));
        JsonNode anonymous = JSON.readTree(get("/v1/health", null).body());
        assertEquals("up", anonymous.get("postgres").asText());
        assertNull(anonymous.get("server_version"), "no version without the token: " + anonymous);

        cluster.stop();
        try {
            // The probe is cached for 2 s: within a few more, health must say so, each answer quickly.
            HttpResponse<String> down = awaitHealth(503);
            assertProblem(down, 503, "postgres_unavailable");
            assertFalse(down.body().contains(String.valueOf(cluster.port())), "no address without the token");
            HttpResponse<String> detailed = get("/v1/health", "Bearer " + token);
            assertProblem(detailed, 503, "postgres_unavailable");
            assertTrue(detailed.body().contains(String.valueOf(cluster.port())), detailed.body());
        } finally {
            cluster.start();
        }
        awaitHealth(200);
    }

    private static HttpResponse<String> awaitHealth(int status) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (true) {
            long started = System.nanoTime();
            HttpResponse<String> r = get("/v1/health", null);
            long millis = Duration.ofNanos(System.nanoTime() - started).toMillis();
            assertTrue(millis < 6000, "health took " + millis + " ms");
            if (r.statusCode() == status || System.nanoTime() > deadline) {
                return r;
            }
            Thread.sleep(200);
        }
    }

    @Test
    void infoWithoutTokenIs401() throws Exception {
        HttpResponse<String> r = get("/v1/info", null);
        assertProblem(r, 401, "unauthorized");
        assertEquals(Optional.of("Bearer"), r.headers().firstValue("WWW-Authenticate"));
    }

    @Test
    void infoWithWrongTokenIs401() throws Exception {
        assertProblem(get("/v1/info", "Bearer " + AgentFixture.newToken()), 401, "unauthorized");
        assertProblem(get("/v1/info", "Basic " + token), 401, "unauthorized");
    }

    @Test
    void infoWithTokenDescribesTheServer() throws Exception {
        HttpResponse<String> r = get("/v1/info", "Bearer " + token);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode info = JSON.readTree(r.body());
        assertEquals(cluster.major(), info.get("major").asInt());
        assertEquals(cluster.major(), info.get("server_version_num").asInt() / 10000);
        assertTrue(info.get("server_version").asText().startsWith(cluster.major() + "."));
        JsonNode settings = info.get("settings");
        assertEquals("logical", settings.get("wal_level").asText());
        assertEquals("20", settings.get("max_replication_slots").asText());
        assertEquals("4", settings.get("max_sync_workers_per_subscription").asText());
        assertNull(settings.get("rds.logical_replication"), "not an RDS server");
        // Its own limit from 18 (default 10); before 18 max_replication_slots counts a subscriber's origins.
        assertEquals(cluster.major() >= 18, settings.has("max_active_replication_origins"), settings.toString());
        assertEquals("-1", settings.get("max_slot_wal_keep_size").asText(), "the server's default: no bound");
        // The WAL's disk, as the agent's host sees it: a pgbed cluster's on this host, a container's not.
        JsonNode disk = info.get("wal_disk");
        if (cluster.container() == null) {
            assertTrue(disk != null && disk.get("path").asText().endsWith("/pg_wal"), r.body());
            assertTrue(disk.get("free_bytes").asLong() > 0, r.body());
            assertTrue(disk.get("total_bytes").asLong() >= disk.get("free_bytes").asLong(), r.body());
            assertNull(info.get("wal_disk_error"), r.body());
        } else {
            assertNull(disk, r.body());
            assertTrue(info.get("wal_disk_error").asText().contains("cannot be read from this host"), r.body());
        }
        List<String> names = new ArrayList<>();
        for (JsonNode db : info.get("databases")) {
            names.add(db.get("name").asText());
            assertTrue(db.get("size_bytes").asLong() > 0);
            assertEquals("UTF8", db.get("encoding").asText());
            assertEquals("postgres", db.get("owner").asText());
            assertEquals("libc", db.get("locale_provider").asText());
        }
        assertEquals(List.of("postgres"), names, "templates are skipped");
        assertEquals(cluster.binDir().toString(), info.get("pg_bin_dir").asText());
        assertTrue(info.get("pg_dump_version").asText().startsWith(cluster.major() + "."));
        assertEquals(io.pgferry.agent.AgentVersion.get(), info.get("agent_version").asText());
    }

    /** Another tool's slot holds the server's limits too: info names it, for the fleet's capacity check. */
    @Test
    void infoNamesWhatHoldsTheReplicationLimits() throws Exception {
        String slot = "other_tool_" + java.util.UUID.randomUUID().toString().substring(0, 8);
        try (java.sql.Connection c = cluster.connect("postgres"); java.sql.Statement st = c.createStatement()) {
            st.execute("SELECT pg_create_physical_replication_slot('" + slot + "')");
            try {
                JsonNode replication = JSON.readTree(get("/v1/info", "Bearer " + token).body()).get("replication");
                assertTrue(replication.get("slots").toString().contains("\"" + slot + "\""), replication.toString());
                assertTrue(replication.get("wal_senders").isArray(), replication.toString());
                assertTrue(replication.get("subscriptions").isArray(), replication.toString());
            } finally {
                st.execute("SELECT pg_drop_replication_slot('" + slot + "')");
            }
        }
    }

    @Test
    void everythingButHealthNeedsTheToken() throws Exception {
        assertProblem(get("/v1/nope", null), 401, "unauthorized");
        assertProblem(get("/v1/nope", "Bearer " + token), 404, "not_found");
    }

    /**
     * A body refused before it is read (the query parameter is missing) is read to its end before the answer: answered
     * while the client still sends, the connection would be closed with the body in flight, and the TCP reset could
     * take the answer with it (seen in the fuzz run). Then the connection serves the next request.
     */
    @Test
    void aBodyRefusedBeforeItIsReadIsReadBeforeTheAnswer() throws Exception {
        byte[] body = ("{\"database\": \"" + "s".repeat(400_000) + "\"}").getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), agent.port())) {
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            out.write(("PUT /v1/migrations/fz/large-objects HTTP/1.1\r\nHost: agent\r\nAuthorization: Bearer " + token
                    + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.write(body, 0, body.length / 2);
            out.flush();
            socket.setSoTimeout(700);
            assertThrows(SocketTimeoutException.class, in::read, "answered before the body was read");
            out.write(body, body.length / 2, body.length - body.length / 2);
            out.flush();
            socket.setSoTimeout(10_000);
            String answer = response(in);
            assertTrue(answer.startsWith("HTTP/1.1 400 "), answer);
            assertTrue(answer.contains("\"code\":\"invalid_request\""), answer);
            out.write(("GET /v1/health HTTP/1.1\r\nHost: agent\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String next = response(in);
            assertTrue(next.startsWith("HTTP/1.1 200 "), next);
        }
    }

    /** One HTTP/1.1 response with a Content-Length, read off the socket. */
    private static String response(InputStream in) throws Exception {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            assertTrue(b >= 0, "connection closed after " + head);
            head.write(b);
        }
        String headers = head.toString(StandardCharsets.ISO_8859_1);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(headers);
        assertTrue(m.find(), headers);
        return headers + new String(in.readNBytes(Integer.parseInt(m.group(1))), StandardCharsets.UTF_8);
    }

    @Test
    void wrongMethodIsAProblem() throws Exception {
        HttpRequest req = HttpRequest.newBuilder(base.resolve("/v1/health"))
                .POST(HttpRequest.BodyPublishers.ofString("{}")).timeout(Duration.ofSeconds(10)).build();
        HttpResponse<String> r = HTTP.send(req, HttpResponse.BodyHandlers.ofString());
        bodies.add(r.body());
        assertProblem(r, 405, "method_not_allowed");
    }

    @Test
    void healthWorksOverTheUnixSocket() {
        PostgresConfig viaSocket = new PostgresConfig(cluster.socketDir().toString(), cluster.port(),
                cluster.superuser(), Optional.empty(), Optional.empty(), "postgres");
        HealthService.Probe probe = new HealthService(new PgConnector(viaSocket)).current();
        assertTrue(probe.up(), probe.failure());
        assertTrue(probe.version().version().startsWith(cluster.major() + "."));
    }

    /** What a cutover reads before PAUSE: a client idle in a transaction is listed with its age; the agent is not. */
    @Test
    void transactionsListsTheOpenOnesOldestFirst() throws Exception {
        try (java.sql.Connection idle = cluster.connect("postgres");
             java.sql.Connection running = cluster.connect("postgres")) {
            idle.setAutoCommit(false);
            int pid;
            try (var st = idle.createStatement(); var rs = st.executeQuery("SELECT pg_backend_pid()")) {
                rs.next();
                pid = rs.getInt(1);
            }
            Thread.sleep(300);
            try (var st = running.createStatement()) {
                st.execute("SELECT 1");  // autocommit: no transaction left open
            }
            HttpResponse<String> r = get("/v1/migrations/m1/transactions?database=postgres", "Bearer " + token);
            assertEquals(200, r.statusCode(), r.body());
            JsonNode body = JSON.readTree(r.body());
            assertEquals("postgres", body.get("database").asText());
            assertEquals(0, body.get("hidden").asInt(), "a superuser sees every session");
            JsonNode open = body.get("transactions");
            assertEquals(1, open.size(), r.body());
            JsonNode t = open.get(0);
            assertEquals(pid, t.get("pid").asInt());
            assertEquals("idle in transaction", t.get("state").asText());
            assertEquals(cluster.superuser(), t.get("user").asText());
            assertTrue(t.get("seconds").asDouble() >= 0.3, r.body());
            assertTrue(t.get("client").asText().startsWith("127.0.0.1:"), r.body());
            idle.rollback();
        }
        HttpResponse<String> none = get("/v1/migrations/m1/transactions?database=postgres", "Bearer " + token);
        assertEquals(0, JSON.readTree(none.body()).get("transactions").size(), none.body());
        assertProblem(get("/v1/migrations/m1/transactions?database=nope", "Bearer " + token), 404,
                "database_not_found");
        assertProblem(get("/v1/migrations/m1/transactions", "Bearer " + token), 400, "invalid_request");
    }

    private static HttpResponse<String> get(String path, String authorization) throws Exception {
        HttpRequest.Builder req = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(10)).GET();
        if (authorization != null) {
            req.header("Authorization", authorization);
        }
        HttpResponse<String> r = HTTP.send(req.build(), HttpResponse.BodyHandlers.ofString());
        synchronized (bodies) {
            bodies.add(r.body());
        }
        return r;
    }

    private static void assertProblem(HttpResponse<String> r, int status, String code) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/problem+json"),
                "content type " + r.headers().firstValue("Content-Type"));
        JsonNode p = JSON.readTree(r.body());
        assertEquals(status, p.get("status").asInt());
        assertEquals(code, p.get("code").asText());
        assertEquals("urn:pgferry:problem:" + code, p.get("type").asText());
        assertTrue(p.hasNonNull("title") && p.hasNonNull("detail"));
    }
}
