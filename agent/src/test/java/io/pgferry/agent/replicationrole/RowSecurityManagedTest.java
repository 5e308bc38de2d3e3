package io.pgferry.agent.replicationrole;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgferry.agent.Agent;
import io.pgferry.agent.config.ConfigLoader;
import io.pgferry.agent.testbed.AgentFixture;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.PgBed;
import io.pgferry.agent.testbed.PgCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Row-level security the way a managed service runs it: the agent logs in as a role without superuser (CREATEROLE and
 * REPLICATION, a member of the role that owns the application's tables), so BYPASSRLS cannot be granted. The default
 * fix, the temporary copy policy, still works end to end on the source: preflight covers the tables, the replication
 * role step makes the policies (the agent acts as their owner), the replication role then reads every row, and
 * `copied` takes them back; BYPASSRLS is refused before anything changes.
 */
@PgBed(major = 17)
class RowSecurityManagedTest {
    private static final String DB = "shop";
    private static final String PATH = "/v1/migrations/managed/";
    private static final String ROLE = "pgferry_managed";
    private static final String PASSWORD = "managed agent pw";

    static PgCluster cluster;
    static AgentHandle agent;

    @BeforeAll
    static void start(@TempDir Path dir) throws Exception {
        exec("postgres", "CREATE ROLE shop_owner NOLOGIN; CREATE ROLE app_ro; CREATE ROLE app_rw; "
                + "CREATE ROLE mgr LOGIN CREATEROLE REPLICATION PASSWORD '" + PASSWORD + "'; GRANT shop_owner TO mgr");
        exec("postgres", "CREATE DATABASE " + DB + " OWNER shop_owner");
        exec(DB, """
                SET ROLE shop_owner;
                CREATE SCHEMA "Läden";
                CREATE TABLE "Läden".items (id int PRIMARY KEY, price int NOT NULL);
                INSERT INTO "Läden".items SELECT g, g % 200 FROM generate_series(1, 500) g;
                ALTER TABLE "Läden".items ENABLE ROW LEVEL SECURITY;
                CREATE POLICY ro ON "Läden".items FOR SELECT TO app_ro USING (price < 100);
                CREATE POLICY rw ON "Läden".items TO app_rw USING (true);
                """);
        Path password = AgentFixture.secretFile(dir, "mgr.password", PASSWORD);
        Path token = AgentFixture.secretFile(dir, "token", AgentFixture.newToken());
        Path yaml = dir.resolve("agent.yaml");
        Files.writeString(yaml, """
                listen_address: 127.0.0.1
                listen_port: %d
                token_file: %s
                postgres:
                  host: %s
                  port: %d
                  user: mgr
                  database: %s
                  password_file: %s
                pg_bin_dir: %s
                state_dir: %s
                """.formatted(AgentFixture.freePort(), token, cluster.host(), cluster.port(), DB, password,
                cluster.binDir(), dir.resolve("state")));
        agent = AgentHandle.of(Agent.start(ConfigLoader.load(yaml, Map.of(), List.of()), System.getenv("PATH")),
                Files.readString(token).strip());
    }

    @AfterAll
    static void stop() {
        if (agent != null) {
            agent.close();
        }
    }

    @Test
    void theCopyPolicyWorksWithoutSuperuserAndBypassrlsIsRefused() throws Exception {
        JsonNode preflight = ok(agent.post(PATH + "preflight", Map.of("side", "source", "database", DB)));
        assertTrue(preflight.get("ok").asBoolean(), preflight.toString());
        assertEquals("warning", finding(preflight, "row_security_hides_rows").get("severity").asText());
        JsonNode bypass = ok(agent.post(PATH + "preflight", Map.of("side", "source", "database", DB,
                "row_security", "bypassrls")));
        JsonNode refused = finding(bypass, "row_security_hides_rows");
        assertEquals("error", refused.get("severity").asText());
        assertTrue(refused.get("fix").asText().contains("row_security to policy"), refused.toString());

        AgentHandle.Answer no = agent.put(PATH + "replication-role", Map.of("database", DB, "password", "r pw",
                "row_security", "bypassrls"));
        assertEquals(422, no.status(), no.body().toString());
        assertEquals("bypassrls_not_allowed", no.at("/code").asText());
        assertEquals("0", one("SELECT count(*) FROM pg_roles WHERE rolname = '" + ROLE + "'"));

        JsonNode made = ok(agent.put(PATH + "replication-role", Map.of("database", DB, "password", "r pw")));
        assertEquals(1, made.at("/role/copy_policies").size(), made.toString());
        assertEquals("500", one("SET ROLE " + ROLE + "; SELECT count(*) FROM \"Läden\".items"),
                "the replication role reads every row");
        JsonNode counted = ok(agent.post(PATH + "row-counts", Map.of("database", DB, "tables",
                List.of(Map.of("schema", "Läden", "name", "items")))));
        assertEquals(500, counted.at("/tables/0/rows").asLong(), "the agent counts as the owner's member");

        JsonNode back = ok(agent.put(PATH + "replication-role", Map.of("database", DB, "password", "r pw",
                "copied", true)));
        assertEquals(0, back.at("/role/copy_policies").size());
        assertEquals("0", one("SET ROLE " + ROLE + "; SELECT count(*) FROM \"Läden\".items"),
                "its access past row security is gone");
        // Without superuser the password is set again on every run (pg_authid is unreadable); nothing else is.
        JsonNode again = ok(agent.put(PATH + "replication-role", Map.of("database", DB, "password", "r pw", "copied",
                true)));
        assertFalse(again.get("queries").toString().contains("POLICY"), again.toString());
    }

    private static JsonNode finding(JsonNode preflight, String code) {
        for (JsonNode f : preflight.get("findings")) {
            if (f.get("code").asText().equals(code)) {
                return f;
            }
        }
        throw new AssertionError("no finding " + code + " in " + preflight);
    }

    private static JsonNode ok(AgentHandle.Answer a) {
        assertTrue(a.status() < 300, "HTTP " + a.status() + ": " + a.body());
        return a.body();
    }

    private static void exec(String db, String sql) throws Exception {
        try (Connection c = cluster.connect(db); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    private static String one(String sql) throws Exception {
        try (Connection c = cluster.connect(DB); Statement st = c.createStatement()) {
            boolean rows = st.execute(sql);
            while (!rows && st.getUpdateCount() != -1) {
                rows = st.getMoreResults();
            }
            try (ResultSet rs = st.getResultSet()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }
}
