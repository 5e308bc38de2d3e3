package io.pgferry.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.PgBedTool;
import io.pgferry.agent.testbed.PgCluster;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * GET /metrics of two real agents during a real migration: the initial copy of a table is seen advancing, slot
 * and apply lag and a held fence appear, access follows metrics_auth, every metric of the Grafana dashboard is in
 * a real scrape, and readiness (not liveness) fails while PostgreSQL is stopped.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MetricsTest {
    private static final String DB = "app";
    private static final String M = "met";
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*})? (\\S+)");

    PgCluster src;
    PgCluster dst;
    AgentHandle source;
    AgentHandle target;
    Path dir;
    MigrationFlow flow;
    /** Every sample name seen in any scrape of this class. */
    final Set<String> seen = new TreeSet<>();

    @BeforeAll
    void start() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        src = PgCluster.create("met-src-" + run, 16);
        dst = PgCluster.create("met-dst-" + run, 16);
        dir = Files.createTempDirectory("pgferry-metrics");
        source = AgentHandle.start(src, dir.resolve("source"));
        target = AgentHandle.start(dst, dir.resolve("target"), "metrics_auth: none\n");
        exec(src, "postgres", "CREATE DATABASE " + DB);
        exec(src, DB, Files.readString(PgBedTool.repoRoot().resolve("fixtures/basic.sql")));
        flow = new MigrationFlow(M, DB, src, source, target, "metrics pw " + run, Map.of());
        flow.run();
    }

    @AfterAll
    void stop() throws Exception {
        for (AgentHandle a : new AgentHandle[] {source, target}) {
            if (a != null) {
                a.close();
            }
        }
        for (PgCluster c : new PgCluster[] {src, dst}) {
            if (c != null && System.getenv("PGFERRY_KEEP_CLUSTERS") == null) {
                c.destroy();
            }
        }
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    @Order(1)
    void accessFollowsMetricsAuth() throws Exception {
        assertEquals(401, get(source, "/metrics", null).statusCode(), "token required by default");
        assertEquals(200, get(source, "/metrics", source.token()).statusCode());
        HttpResponse<String> open = get(target, "/metrics", null);
        assertEquals(200, open.statusCode(), "metrics_auth: none on loopback");
        assertTrue(open.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
        assertEquals(401, get(target, "/v1/info", null).statusCode(), "only /metrics is opened");
    }

    @Test
    @Order(2)
    void theInitialCopyOfATableIsSeenAdvancing() throws Exception {
        // A table whose copy is slowed on the target by a trigger that replication fires (ENABLE ALWAYS), so that
        // scrapes land in the middle of it.
        exec(src, DB, """
                CREATE TABLE included."slow table" (id int PRIMARY KEY, pad text);
                INSERT INTO included."slow table" SELECT g, repeat('x', 100) FROM generate_series(1, 400) g;""");
        exec(dst, DB, """
                CREATE TABLE included."slow table" (id int PRIMARY KEY, pad text);
                CREATE FUNCTION included.slow_down() RETURNS trigger LANGUAGE plpgsql AS
                  $$BEGIN PERFORM pg_sleep(0.02); RETURN NEW; END$$;
                CREATE TRIGGER slow_down BEFORE INSERT ON included."slow table"
                  FOR EACH ROW EXECUTE FUNCTION included.slow_down();
                ALTER TABLE included."slow table" ENABLE ALWAYS TRIGGER slow_down;""");
        MigrationFlow.ok(source.put("/v1/migrations/" + M + "/replication-role", Map.of("database", DB,
                "password", flow.password)));
        // By hand, as an operator would: the publication step never changes the tables of a running stream
        // (scope_changed), and here the table exists on the target first.
        exec(src, DB, "ALTER PUBLICATION pgferry_" + M + " ADD TABLE included.\"slow table\"");
        exec(dst, DB, "ALTER SUBSCRIPTION pgferry_" + M + " REFRESH PUBLICATION");

        String table = "pgferry_table_copy_rows{database=\"app\",migration=\"met\",schema=\"included\","
                + "table=\"slow table\"}";
        double first = awaitSample(target, table, v -> v > 0);
        String copying = "pgferry_tables{database=\"app\",migration=\"met\",state=\"data_copy\"}";
        assertEquals(1.0, sample(scrape(target), copying), "one table in data_copy");
        double later = awaitSample(target, table, v -> v > first);
        assertTrue(later > first && later <= 400, first + " then " + later);
        flow.awaitReady();
        Map<String, Double> done = scrape(target);
        assertEquals(null, done.get(table), "no copy row once the table is synchronized");
        assertEquals(4.0, sample(done, "pgferry_tables{database=\"app\",migration=\"met\",state=\"ready\"}"),
                "customers, orders, audit and the slow table all ready: " + done);
    }

    @Test
    @Order(3)
    void lagAndAFenceAreReadFromTheCatalogsAndStateDir() throws Exception {
        Map<String, Double> s = scrape(source);
        assertTrue(sample(s, "pgferry_slot_lag_bytes{database=\"app\",migration=\"met\",slot=\"pgferry_met\"}")
                >= 0);
        assertEquals(1.0, sample(s, "pgferry_slot_active{database=\"app\",migration=\"met\",slot=\"pgferry_met\"}"));
        assertTrue(s.containsKey("pgferry_replication_replay_lag_seconds{migration=\"met\","
                + "subscription=\"pgferry_met\"}"), s.toString());
        Map<String, Double> t = scrape(target);
        assertTrue(sample(t, "pgferry_subscription_apply_lag_seconds{database=\"app\",migration=\"met\","
                + "subscription=\"pgferry_met\"}") >= 0);
        assertEquals(1.0, sample(t, "pgferry_subscription_worker_running{database=\"app\",migration=\"met\","
                + "subscription=\"pgferry_met\"}"));
        assertTrue(sample(t, "pgferry_jobs_finished_total{state=\"succeeded\",step=\"schema-apply\"}") >= 1);

        MigrationFlow.ok(source.put("/v1/migrations/" + M + "/fence", Map.of("database", DB)));
        try {
            assertTrue(sample(scrape(source), "pgferry_fence_active_seconds{database=\"app\",migration=\"met\"}")
                    >= 0);
        } finally {
            MigrationFlow.ok(source.delete("/v1/migrations/" + M + "/fence?database=" + DB));
        }
        assertEquals(null, scrape(source).get("pgferry_fence_active_seconds{database=\"app\",migration=\"met\"}"));
    }

    @Test
    @Order(4)
    void everyDashboardMetricIsInARealScrape() throws Exception {
        scrape(source);
        scrape(target);
        JsonNode dashboard = new ObjectMapper().readTree(PgBedTool.repoRoot().resolve("docs/grafana/pgferry.json")
                .toFile());
        Set<String> used = new TreeSet<>();
        for (JsonNode panel : dashboard.get("panels")) {
            for (JsonNode target : panel.get("targets")) {
                Matcher m = Pattern.compile("pgferry_[a-z_]+").matcher(target.get("expr").asText());
                while (m.find()) {
                    used.add(m.group());
                }
            }
        }
        assertTrue(used.size() >= 15, used.toString());
        Set<String> missing = new TreeSet<>(used);
        missing.removeAll(seen);
        assertTrue(missing.isEmpty(), "dashboard metrics never scraped: " + missing + "; scraped: " + seen);
    }

    @Test
    @Order(5)
    void readinessFailsButLivenessHoldsWhilePostgresIsStopped() throws Exception {
        assertEquals(200, get(target, "/v1/health/ready", null).statusCode());
        dst.stop();
        try {
            // The probe is cached for a couple of seconds (HealthService.INTERVAL): anonymous calls never log in.
            HttpResponse<String> ready = get(target, "/v1/health/ready", null);
            Instant until = Instant.now().plusSeconds(20);
            while (ready.statusCode() == 200 && Instant.now().isBefore(until)) {
                Thread.sleep(200);
                ready = get(target, "/v1/health/ready", null);
            }
            assertEquals(503, ready.statusCode(), ready.body());
            assertTrue(ready.body().contains("\"code\":\"postgres_unavailable\""), ready.body());
            assertEquals(503, get(target, "/v1/health", null).statusCode());
            HttpResponse<String> live = get(target, "/v1/health/live", null);
            assertEquals(200, live.statusCode());
            assertEquals("{\"status\":\"ok\"}", live.body());
            assertEquals(0.0, sample(scrape(target), "pgferry_postgres_up"));
        } finally {
            dst.start();
        }
        HttpResponse<String> back = get(target, "/v1/health/ready", null);
        Instant until = Instant.now().plusSeconds(20);
        while (back.statusCode() != 200 && Instant.now().isBefore(until)) {
            Thread.sleep(200);
            back = get(target, "/v1/health/ready", null);
        }
        assertEquals(200, back.statusCode(), back.body());
    }

    private double awaitSample(AgentHandle agent, String key, java.util.function.DoublePredicate wanted)
            throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofMinutes(1));
        Map<String, Double> last = Map.of();
        while (Instant.now().isBefore(deadline)) {
            last = scrape(agent);
            Double v = last.get(key);
            if (v != null && wanted.test(v)) {
                return v;
            }
            Thread.sleep(100);
        }
        return fail("no " + key + " as wanted within a minute; last scrape: " + last);
    }

    private static double sample(Map<String, Double> scrape, String key) {
        Double v = scrape.get(key);
        if (v == null) {
            fail("no sample " + key + " in " + scrape.keySet());
        }
        return v;
    }

    /** Sample "name{labels}" to value; the labels as the agent writes them (sorted by name). */
    private Map<String, Double> scrape(AgentHandle agent) throws Exception {
        HttpResponse<String> r = get(agent, "/metrics", agent.token());
        assertEquals(200, r.statusCode(), r.body());
        Map<String, Double> out = new java.util.LinkedHashMap<>();
        for (String line : r.body().lines().toList()) {
            Matcher m = SAMPLE.matcher(line);
            if (!line.startsWith("#") && m.find()) {
                seen.add(m.group(1));
                out.put(m.group(1) + (m.group(2) == null ? "" : m.group(2)), Double.parseDouble(m.group(3)));
            }
        }
        return out;
    }

    private static HttpResponse<String> get(AgentHandle agent, String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(agent.base().resolve(path)).timeout(Duration.ofSeconds(30));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return HTTP.send(b.GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void exec(PgCluster cluster, String db, String sql) throws Exception {
        try (Connection c = cluster.connect(db); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}
