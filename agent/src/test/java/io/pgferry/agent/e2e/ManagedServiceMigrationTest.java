package io.pgferry.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.pgferry.agent.testbed.AgentFixture;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.ContainerBed;
import io.pgferry.agent.testbed.PgBedTool;
import io.pgferry.agent.testbed.PgCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Managed-service mode: each agent connects over the network as an admin role that is NOT a superuser and holds only
 * what RDS, Cloud SQL and Azure give their admin role (docs/security.md, "Managed services"): LOGIN, CREATEDB,
 * CREATEROLE, REPLICATION, pg_signal_backend, pg_monitor and, on 16+, pg_create_subscription; no file access. The
 * source database and its tables belong to that role, as they do on a managed service. PostgreSQL 16 -> 17: 14 and 15
 * only let superusers create subscriptions. The whole migration passes and a rerun changes nothing.
 */
class ManagedServiceMigrationTest {
    static final String ADMIN = "dbadmin";

    /** The grants of docs/security.md's managed-service table, for a role made by the superuser. */
    static String adminRole(String password, int major) {
        return "CREATE ROLE " + ADMIN + " LOGIN CREATEDB CREATEROLE REPLICATION PASSWORD '" + password + "';"
                + "GRANT pg_signal_backend, pg_monitor TO " + ADMIN + ";"
                + (major >= 16 ? "GRANT pg_create_subscription TO " + ADMIN + ";" : "");
    }

    @Test
    void migratesAsANonSuperuserAdminRole(@TempDir Path dir) throws Exception {
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        PgCluster src = ContainerBed.server("managed-src-" + suffix, 16);
        PgCluster dst = ContainerBed.server("managed-dst-" + suffix, 17);
        String password = "admin-" + suffix;
        Path pwfile = AgentFixture.secretFile(Files.createDirectories(dir.resolve("secrets")), "admin.password",
                password);
        try {
            Checksums.execute(src, "postgres", adminRole(password, 16));
            Checksums.execute(dst, "postgres", adminRole(password, 17));
            try (Connection c = as(src, "postgres", password); Statement st = c.createStatement()) {
                st.execute("CREATE DATABASE app");
            }
            try (Connection c = as(src, "app", password); Statement st = c.createStatement()) {
                st.execute(Files.readString(PgBedTool.repoRoot().resolve("fixtures/basic.sql")));
            }
            try (AgentHandle source = AgentHandle.start(src, dir.resolve("source"), ADMIN, pwfile);
                 AgentHandle target = AgentHandle.start(dst, dir.resolve("target"), ADMIN, pwfile)) {
                MigrationFlow flow = new MigrationFlow("managed", "app", src, source, target,
                        "repl-" + suffix, Map.of("exclude_schemas", List.of("excluded")));
                flow.run();
                try (Connection c = as(src, "app", password); Statement st = c.createStatement()) {
                    st.execute("INSERT INTO included.customers (name, email) VALUES ('late', 'late@example.org');"
                            + "UPDATE included.orders SET amount = amount + 1 WHERE id % 10 = 0;"
                            + "DELETE FROM included.orders WHERE id % 7 = 0");
                }
                flow.awaitCaughtUp();
                MigrationPairsTest.awaitEqual(src, dst);
                // The cutover's reverse stream subscribes the source: an admin role that may not is refused before
                // anything pauses, not inside the pause.
                String ready = "/v1/migrations/managed/ready-check";
                Map<String, Object> reverse = Map.of("database", "app", "side", "source", "reverse_replication", true);
                assertEquals(200, source.post(ready, reverse).status());
                Checksums.execute(src, "postgres", "REVOKE pg_create_subscription FROM " + ADMIN);
                AgentHandle.Answer refused = source.post(ready, reverse);
                assertEquals(422, refused.status(), refused.body().toString());
                assertEquals("agent_lacks_rights", refused.body().get("code").asText());
                assertEquals(200, source.post(ready, Map.of("database", "app", "side", "source")).status(),
                        "without a reverse stream nothing is missing");
                Checksums.execute(src, "postgres", "GRANT pg_create_subscription TO " + ADMIN);
                // Another migration of the same database (started without the preflight): the fence would stop it
                // too and the switch leave its tables behind, so the cutover is refused before anything pauses.
                Checksums.execute(src, "app", "CREATE PUBLICATION \"pgferry_Andere Mig\"");
                AgentHandle.Answer other = source.post(ready, reverse);
                assertEquals(422, other.status(), other.body().toString());
                assertEquals("other_migration", other.body().get("code").asText());
                assertEquals("[\"\\\"pgferry_Andere Mig\\\"\"]", other.body().get("objects").toString());
                Checksums.execute(src, "app", "DROP PUBLICATION \"pgferry_Andere Mig\"");
                assertEquals(200, source.post(ready, reverse).status());
                assertEquals(ADMIN, scalar(dst, "SELECT tableowner FROM pg_tables WHERE schemaname = 'included'"
                        + " AND tablename = 'orders'"), "the target's tables belong to the admin role");
                assertEquals("f", scalar(dst, "SELECT rolsuper FROM pg_roles WHERE rolname = '" + ADMIN + "'"));
                // Without superuser neither the role's password (pg_authid) nor the subscription's connection
                // (subconninfo) can be read, so a rerun sets both again (docs/security.md); nothing else changes.
                Map<String, Boolean> rerun = flow.run();
                assertEquals(List.of("replication-role", "subscription"), rerun.entrySet().stream()
                        .filter(Map.Entry::getValue).map(Map.Entry::getKey).toList(), "steps a rerun changed");
                assertEquals(1, Checksums.count(src, "app", "SELECT count(*) FROM pg_replication_slots"));
                assertEquals(1, Checksums.count(dst, "app", "SELECT count(*) FROM pg_subscription"));
                for (String body : source.bodies()) {
                    assertFalse(body.contains(password), "the admin password came back from the source agent");
                }
                try (Connection c = as(dst, "app", password); Statement st = c.createStatement()) {
                    st.execute("DROP SUBSCRIPTION pgferry_managed");
                }
            }
        } finally {
            src.destroy();
            dst.destroy();
        }
    }

    static Connection as(PgCluster cluster, String database, String password) throws Exception {
        Properties p = new Properties();
        p.setProperty("user", ADMIN);
        p.setProperty("password", password);
        return DriverManager.getConnection("jdbc:postgresql://" + cluster.host() + ":" + cluster.port() + "/" + database,
                p);
    }

    static String scalar(PgCluster cluster, String sql) throws Exception {
        try (Connection c = cluster.connect("app"); Statement st = c.createStatement();
             var rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
