package io.pgferry.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgferry.agent.sql.Sql;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.AgentHandle.Answer;
import io.pgferry.agent.testbed.PgBedTool;
import io.pgferry.agent.testbed.PgCluster;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Owners, grants, default privileges, memberships, policies and settings move with the database, and two
 * applications that use the same role names consolidate onto one instance, each confined to its database. Two
 * sources (PostgreSQL 14 and 16) each hold fixtures/privileges.sql in database {@code shop}, written to by the
 * application's own read-write role during the move; both land on one PostgreSQL 18 target under a role map each.
 * The 14 source also holds the privilege escalation of issue #19: a non-superuser's SECURITY DEFINER function and a
 * materialized view calling its function, which must not make it a superuser on the target.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PrivilegesMigrationTest {
    private static final List<String> SCHEMAS = List.of("shop", "public", "mal");
    private static final List<String> ROLES = List.of("shop_owner", "shop_rw", "shop_readers", "shop_ro",
            "Audit \"Ünï\" Team", "mallory");
    private static final Map<String, String> MAP14 = Map.of("shop_owner", "s14_owner", "shop_rw", "s14_rw",
            "shop_readers", "s14_readers", "shop_ro", "s14_ro", "Audit \"Ünï\" Team", "s14 Äudit \"team\"");
    private static final Map<String, String> MAP16 = Map.of("shop_owner", "s16_owner", "shop_rw", "s16_rw",
            "shop_readers", "s16_readers", "shop_ro", "s16_ro", "Audit \"Ünï\" Team", "s16 Äudit \"team\"");
    /**
     * Issue #19's escalation: mallory, no superuser, owns a SECURITY DEFINER function and a materialized view that
     * calls her function. Run by a superuser, the function makes her one and runs a shell command.
     */
    private static final String ESCALATION = """
            CREATE ROLE mallory LOGIN PASSWORD 'mallory-secret';
            DO $d$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO mallory', current_database()); END $d$;
            CREATE SCHEMA mal AUTHORIZATION mallory;
            SET ROLE mallory;
            CREATE FUNCTION mal.boom() RETURNS int LANGUAGE plpgsql AS $$
            BEGIN
              IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
                EXECUTE 'ALTER ROLE mallory SUPERUSER';
                EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', 'touch ' || 'PWNED_FILE');
              END IF;
              RETURN 1;
            END $$;
            CREATE FUNCTION mal.elevate() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT mal.boom()';
            CREATE MATERIALIZED VIEW mal.mv AS SELECT mal.boom() AS x;
            CREATE TABLE mal.notes (id int PRIMARY KEY, body text);
            RESET ROLE;
            """;

    PgCluster src14;
    PgCluster src16;
    PgCluster target;
    AgentHandle agent14;
    AgentHandle agent16;
    AgentHandle targetAgent;
    Path dir;
    Path pwned;

    @BeforeAll
    void start() throws Exception {
        String id = UUID.randomUUID().toString().substring(0, 8);
        dir = Files.createTempDirectory("pgferry-privileges");
        // Written by the server's OS user if the escalation ever runs: a path it may write to.
        pwned = Path.of("/tmp", "pgferry-pwned-" + id);
        src14 = PgCluster.create("priv-14-" + id, 14);
        src16 = PgCluster.create("priv-16-" + id, 16);
        target = PgCluster.create("priv-18-" + id, 18);
        String fixture = Files.readString(PgBedTool.repoRoot().resolve("fixtures/privileges.sql"));
        for (PgCluster c : List.of(src14, src16)) {
            Checksums.execute(c, "postgres", "CREATE DATABASE shop");
            Checksums.execute(c, "shop", fixture);
        }
        Checksums.execute(src14, "shop", ESCALATION.replace("PWNED_FILE", pwned.toString()));
        agent14 = AgentHandle.start(src14, dir.resolve("a14"));
        agent16 = AgentHandle.start(src16, dir.resolve("a16"));
        targetAgent = AgentHandle.start(target, dir.resolve("t18"));
    }

    @AfterAll
    void stop() throws Exception {
        for (AgentHandle a : new AgentHandle[] {agent14, agent16, targetAgent}) {
            if (a != null) {
                a.close();
                for (String body : a.bodies()) {
                    assertFalse(body.contains("rw-secret") || body.contains("ro-secret"), "a password in an answer");
                }
            }
        }
        for (PgCluster c : new PgCluster[] {src14, src16, target}) {
            if (c != null) {
                c.destroy();
            }
        }
        Files.deleteIfExists(pwned);
    }

    @Test
    @Order(1)
    void ownersGrantsAndRolesMoveFrom14To18UnderWrites() throws Exception {
        migrate(src14, agent14, "p14", "shop_14", MAP14);

        // The escalation is harmless: mallory's code ran as mallory, during the refresh and when she calls it.
        assertEquals("f", scalar(target, "postgres", "SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'"));
        assertEquals("mallory", scalar(target, "shop_14", "SELECT proowner::regrole::text FROM pg_proc "
                + "WHERE oid = 'mal.elevate'::regproc"));
        assertEquals("t", scalar(target, "shop_14", "SELECT ispopulated FROM pg_matviews WHERE matviewname = 'mv'"));
        try (Connection c = login(target, "shop_14", "mallory", "mallory-secret"); Statement st = c.createStatement()) {
            st.execute("SELECT mal.elevate()");
        }
        assertEquals("f", scalar(target, "postgres", "SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'"));
        assertFalse(Files.exists(pwned), "COPY TO PROGRAM ran on the target");
    }

    @Test
    @Order(2)
    void ownersGrantsAndRolesMoveFrom16To18UnderWrites() throws Exception {
        migrate(src16, agent16, "p16", "shop_16", MAP16);
    }

    @Test
    @Order(3)
    void eachApplicationIsConfinedToItsDatabase() throws Exception {
        for (String[] other : new String[][] {{"s14_rw", "shop_16"}, {"s14_ro", "shop_16"}, {"s16_rw", "shop_14"},
                {"s16_ro", "shop_14"}}) {
            String password = other[0].endsWith("rw") ? "rw-secret" : "ro-secret";
            SQLException refused = assertThrows(SQLException.class, () -> login(target, other[1], other[0], password)
                    .close(), other[0] + " connected to " + other[1]);
            assertEquals("42501", refused.getSQLState(), refused.getMessage());
        }
        assertEquals("0", scalar(target, "postgres", """
                SELECT count(*) FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid
                  JOIN pg_roles m ON m.oid = a.member
                 WHERE (m.rolname LIKE 's14%' AND g.rolname LIKE 's16%') OR (m.rolname LIKE 's16%'
                        AND g.rolname LIKE 's14%')"""));
        // No role of the source names exists on the target: every one was mapped.
        assertEquals("0", scalar(target, "postgres", "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'shop%'"));
    }

    @Test
    @Order(4)
    void refusesMapsThatMergeRolesOrShareThemBetweenDatabases() throws Exception {
        JsonNode roles = MigrationFlow.ok(agent16.get("/v1/migrations/p16/roles?database=shop")).get("roles");
        // The second application mapped onto the first's roles: they own and hold privileges in shop_14.
        Answer shared = targetAgent.put("/v1/migrations/p16/roles", Map.of("database", "shop_x", "roles", roles,
                "role_map", MAP14, "check", true));
        assertEquals(422, shared.status(), shared.body().toString());
        assertEquals("role_conflicts", shared.at("/code").asText());
        assertTrue(shared.at("/detail").asText().contains("role_shared"), shared.body().toString());

        Map<String, String> merge = new LinkedHashMap<>(MAP16);
        merge.put("shop_ro", "s16_rw");
        Answer merged = targetAgent.put("/v1/migrations/p16/roles", Map.of("database", "shop_16", "roles", roles,
                "role_map", merge, "check", true));
        assertEquals(422, merged.status(), merged.body().toString());
        assertTrue(merged.at("/detail").asText().contains("role_map_merges"), merged.body().toString());

        Map<String, String> typo = new LinkedHashMap<>(MAP16);
        typo.put("shop_rx", "s16_rx");
        Answer unknown = targetAgent.put("/v1/migrations/p16/roles", Map.of("database", "shop_16", "roles", roles,
                "role_map", typo, "check", true));
        assertEquals(422, unknown.status(), unknown.body().toString());
        assertTrue(unknown.at("/detail").asText().contains("role_map_unknown"), unknown.body().toString());

        // A source superuser is not created as one unless asked to.
        ArrayNode withSuperuser = (ArrayNode) roles.deepCopy();
        ObjectNode dba = ((ObjectNode) withSuperuser.get(0).deepCopy()).put("name", "dba_ops").put("superuser", true);
        dba.remove("verifier");
        withSuperuser.add(dba);
        Answer superuser = targetAgent.put("/v1/migrations/p16/roles", Map.of("database", "shop_16", "roles",
                withSuperuser, "role_map", MAP16, "check", true));
        assertEquals(422, superuser.status(), superuser.body().toString());
        assertTrue(superuser.at("/detail").asText().contains("role_superuser"), superuser.body().toString());
        Answer allowed = targetAgent.put("/v1/migrations/p16/roles", Map.of("database", "shop_16", "roles",
                withSuperuser, "role_map", MAP16, "allow_role_rights", List.of("dba_ops"), "check", true));
        assertEquals(200, allowed.status(), allowed.body().toString());
        assertTrue(allowed.at("/queries").toString().contains("CREATE ROLE \\\"dba_ops\\\" WITH SUPERUSER"),
                allowed.body().toString());
    }

    @Test
    @Order(5)
    void preflightReportsCodeThatRunsWithSomeonesRightsAndRefusesWhatTheRolesStepWould() throws Exception {
        Map<String, Object> source = new LinkedHashMap<>(Map.of("side", "source", "database", "shop"));
        JsonNode moved = MigrationFlow.ok(agent14.post("/v1/migrations/pre/preflight", source));
        assertEquals("warning", finding(moved, "security_definer_functions").get("severity").asText());
        assertTrue(finding(moved, "security_definer_functions").get("objects").toString().contains("mal.elevate()"));
        assertTrue(finding(moved, "code_owned_by_non_superusers").get("objects").toString()
                .contains("materialized view mal.mv (owner mallory)"), moved.toString());
        assertFalse(moved.toString().contains("SCRAM-SHA-256"), "no verifier in preflight facts");
        JsonNode roles = moved.at("/facts/roles");
        assertTrue(roles.toString().contains("\"name\":\"shop_rw\""), roles.toString());

        // Without owners moving, the same objects would run with the target agent's rights: refused.
        source.put("privileges", false);
        JsonNode unmoved = MigrationFlow.ok(agent14.post("/v1/migrations/pre/preflight", source));
        assertFalse(unmoved.get("ok").asBoolean());
        assertEquals("error", finding(unmoved, "security_definer_functions").get("severity").asText());
        assertEquals("error", finding(unmoved, "code_owned_by_non_superusers").get("severity").asText());

        // The target compares the source's roles with its own as the roles step would: 16's roles mapped onto 14's.
        JsonNode roles16 = MigrationFlow.ok(agent16.post("/v1/migrations/pre/preflight", Map.of("side", "source",
                "database", "shop"))).at("/facts/roles");
        JsonNode target = MigrationFlow.ok(targetAgent.post("/v1/migrations/pre/preflight", Map.of("side", "target",
                "database", "shop_x", "source_roles", roles16, "role_map", MAP14)));
        assertFalse(target.get("ok").asBoolean());
        assertEquals("error", finding(target, "role_shared").get("severity").asText());
        JsonNode fine = MigrationFlow.ok(targetAgent.post("/v1/migrations/pre/preflight", Map.of("side", "target",
                "database", "shop_16", "source_roles", roles16, "role_map", MAP16)));
        assertTrue(fine.toString().contains("\"roles_present\""), fine.toString());
        assertTrue(fine.get("findings").toString().indexOf("role_shared") < 0, fine.toString());
    }

    @Test
    @Order(6)
    void withoutOwnersNoNonSuperusersCodeRunsAsTheAgent() throws Exception {
        // The 14 source's archive is on the target agent already (migration p14); a second database, privileges off.
        MigrationFlow.ok(targetAgent.put("/v1/migrations/p14/database", Map.of("database", "shop_raw")));
        MigrationFlow.job(targetAgent, targetAgent.post("/v1/migrations/p14/schema-apply", Map.of("database",
                "shop_raw", "privileges", false)));
        // Policies still name the target's roles.
        JsonNode post = MigrationFlow.job(targetAgent, targetAgent.post("/v1/migrations/p14/post-data", Map.of(
                "database", "shop_raw", "privileges", false, "role_map", MAP14)));
        String skipped = post.get("not_refreshed").toString();
        assertTrue(skipped.contains("\\\"mal\\\".\\\"mv\\\": owned on the source by mallory"), post.toString());
        assertEquals("f", scalar(target, "shop_raw", "SELECT ispopulated FROM pg_matviews WHERE matviewname = 'mv'"));
        assertEquals("f", scalar(target, "postgres", "SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'"));
        assertEquals("postgres", scalar(target, "shop_raw", "SELECT relowner::regrole::text FROM pg_class "
                + "WHERE oid = 'shop.orders'::regclass"), "privileges off: the agent's role owns the objects");
        assertFalse(Files.exists(pwned), "COPY TO PROGRAM ran on the target");
    }

    private static JsonNode finding(JsonNode preflight, String code) {
        for (JsonNode f : preflight.get("findings")) {
            if (f.get("code").asText().equals(code)) {
                return f;
            }
        }
        throw new AssertionError("no finding " + code + " in " + preflight);
    }

    /**
     * GRANTs are not replicated: one given, then taken back, on the source reaches the target each time the target
     * agent reads the source's privileges itself; a wrong password is refused with the cause, changing nothing.
     */
    private void grantedOnTheSourceArrivesOverTheConnection(PgCluster source, MigrationFlow flow, String targetDb,
                                                            Map<String, String> map) throws Exception {
        String readers = map.get("shop_readers");
        String has = "SELECT has_table_privilege(" + Sql.literal(readers) + ", 'shop.orders', 'TRUNCATE')";
        Checksums.execute(source, "shop", "GRANT TRUNCATE ON shop.orders TO shop_readers");
        try {
            Map<String, Object> wrong = new HashMap<>(flow.connection());
            wrong.put("password", "not-the-password-7f3a");
            Answer refused = flow.privilegesOver(wrong, false);
            assertEquals(502, refused.status(), refused.body().toString());
            assertEquals("source_unreachable", refused.at("/code").asText(), refused.body().toString());
            assertFalse(new String(refused.raw(), StandardCharsets.UTF_8)
                    .contains("not-the-password-7f3a"), "the password in the problem");
            assertEquals("f", scalar(target, targetDb, has), "a refused read changed the target");

            JsonNode granted = flow.privilegesOverConnection(false);
            assertTrue(granted.at("/changed").asBoolean(), granted.toString());
            assertEquals("t", scalar(target, targetDb, has), granted.toString());
        } finally {
            Checksums.execute(source, "shop", "REVOKE TRUNCATE ON shop.orders FROM shop_readers");
        }
        JsonNode revoked = flow.privilegesOverConnection(false);
        assertTrue(revoked.at("/changed").asBoolean(), revoked.toString());
        assertEquals("f", scalar(target, targetDb, has), revoked.toString());
    }

    /** The whole migration under writes by the application's read-write role, then every check of issue #15. */
    private void migrate(PgCluster source, AgentHandle agent, String migration, String targetDb,
                         Map<String, String> map) throws Exception {
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicLong writes = new AtomicLong();
        Thread writer = new Thread(() -> write(source, writing, writes), "shop_rw-writer");
        writer.start();
        MigrationFlow flow;
        try {
            flow = new MigrationFlow(migration, "shop", targetDb, map, source, agent, targetAgent,
                    "repl-" + migration, Map.of());
            Map<String, Boolean> changed = flow.run();
            assertTrue(changed.get("roles"), "the roles step created the roles");
            Thread.sleep(300);
        } finally {
            writing.set(false);
            writer.join();
        }
        assertTrue(writes.get() > 0, "shop_rw wrote during the migration");
        flow.awaitCaughtUp();
        assertEquals(Checksums.of(source, "shop", List.of()), Checksums.of(target, targetDb, List.of()),
                "rows of every table");

        // Every owner, ACL, default privilege, policy, membership and setting: equal, read from both catalogs.
        List<String> roles = ROLES.stream().filter(r -> map.containsKey(r) || source == src14).toList();
        java.util.Set<String> want = PrivilegeSnapshot.of(source, "shop", SCHEMAS, roles, map);
        java.util.Set<String> have = PrivilegeSnapshot.of(target, targetDb, SCHEMAS, roles, Map.of());
        java.util.Set<String> lacking = new java.util.TreeSet<>(want);
        lacking.removeAll(have);
        java.util.Set<String> extra = new java.util.TreeSet<>(have);
        extra.removeAll(want);
        assertTrue(lacking.isEmpty() && extra.isEmpty(), "the target lacks " + lacking + " and has in excess "
                + extra);
        // The run's privileges step read the source over the subscription's connection; its own agent's answer,
        // carried by the caller, finds nothing left to do either.
        JsonNode compared = flow.privileges(true);
        assertTrue(compared.at("/privileges/equal").asBoolean(), compared.toString());
        assertFalse(compared.at("/changed").asBoolean(), compared.toString());
        grantedOnTheSourceArrivesOverTheConnection(source, flow, targetDb, map);

        // The application logs in with its own passwords (SCRAM verifiers moved) and may do what it could.
        String rw = map.get("shop_rw");
        String ro = map.get("shop_ro");
        try (Connection c = login(target, targetDb, rw, "rw-secret"); Statement st = c.createStatement()) {
            st.execute("INSERT INTO shop.orders (customer_id, amount) VALUES (1, 5)");
            st.execute("UPDATE shop.customers SET email = 'rw@example.org' WHERE id = 2");
        }
        try (Connection c = login(target, targetDb, ro, "ro-secret"); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM shop.orders")) {
                assertTrue(rs.next() && rs.getLong(1) > 0);
            }
            try (ResultSet rs = st.executeQuery("SELECT shop.order_total(1)")) {
                assertTrue(rs.next());
            }
            for (String write : List.of("INSERT INTO shop.orders (customer_id, amount) VALUES (1, 5)",
                    "UPDATE shop.customers SET name = 'x'", "DELETE FROM shop.orders", "SELECT cost FROM shop.\"Price List\"",
                    "CREATE TABLE shop.mine (id int)")) {
                SQLException e = assertThrows(SQLException.class, () -> st.execute(write), write);
                assertEquals("42501", e.getSQLState(), write + ": " + e.getMessage());
            }
        }
        try (Connection c = login(target, targetDb, map.get("Audit \"Ünï\" Team"), "audit-secret");
             Statement st = c.createStatement()) {
            assertNotNull(scalar(st, "SELECT count(*) FROM shop.customers"));
        }

        MigrationFlow.assertNothingChanged(flow.run());
        Checksums.execute(target, targetDb, "DROP SUBSCRIPTION pgferry_" + migration);
    }

    /** As the application does it: its own login role, short transactions. */
    private static void write(PgCluster source, AtomicBoolean writing, AtomicLong writes) {
        try (Connection c = login(source, "shop", "shop_rw", "rw-secret"); Statement st = c.createStatement()) {
            for (long i = 1; writing.get(); i++) {
                st.execute("INSERT INTO shop.orders (customer_id, amount, status) VALUES (" + (1 + i % 300) + ", "
                        + (i % 90) + ", 'paid')");
                st.execute("UPDATE shop.customers SET email = 'w" + i + "@example.org' WHERE id = " + (1 + i % 300));
                st.execute("DELETE FROM shop.orders WHERE id = (SELECT min(id) FROM shop.orders)");
                writes.incrementAndGet();
                Thread.sleep(15);
            }
        } catch (Exception e) {
            throw new IllegalStateException("the writer failed", e);
        }
    }

    static Connection login(PgCluster cluster, String database, String user, String password) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        return DriverManager.getConnection("jdbc:postgresql://" + cluster.host() + ":" + cluster.port() + "/"
                + database, p);
    }

    private static String scalar(PgCluster cluster, String database, String sql) throws Exception {
        try (Connection c = cluster.connect(database); Statement st = c.createStatement()) {
            return scalar(st, sql);
        }
    }

    private static String scalar(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

}
