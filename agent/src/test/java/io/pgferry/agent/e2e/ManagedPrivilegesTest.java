package io.pgferry.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.PgBedTool;
import io.pgferry.agent.testbed.PgCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Managed services, where nobody is superuser: both agents log in as admin roles without it (the source's a member of
 * pg_read_all_data, the target's with CREATEROLE and CREATEDB). The roles move with their SCRAM verifiers (the source
 * admin may read pg_authid through pg_read_all_data), and every object gets its owner and privileges with the schema,
 * none left to the agent's role. A source agent that may not read pg_authid (pg_monitor only) gets the roles without
 * passwords, and the target reports each login role it would create without one.
 */
class ManagedPrivilegesTest {
    private static final List<String> ROLES = List.of("shop_owner", "shop_rw", "shop_readers", "shop_ro",
            "Audit \"Ünï\" Team");

    @Test
    void rolesAndPrivilegesMoveWithoutSuperuser(@TempDir Path dir) throws Exception {
        String id = UUID.randomUUID().toString().substring(0, 8);
        PgCluster src = PgCluster.create("managed-src-" + id, 16);
        PgCluster dst = PgCluster.create("managed-dst-" + id, 16);
        try {
            Checksums.execute(src, "postgres", "CREATE DATABASE shop");
            Checksums.execute(src, "shop", Files.readString(PgBedTool.repoRoot().resolve("fixtures/privileges.sql")));
            // The source's admin reads everything (pg_dump locks each table); a monitoring role may only look.
            Checksums.execute(src, "postgres", """
                    CREATE ROLE src_admin LOGIN PASSWORD 'src-admin' IN ROLE pg_read_all_data;
                    CREATE ROLE src_monitor LOGIN PASSWORD 'src-monitor' IN ROLE pg_monitor;
                    GRANT CONNECT ON DATABASE shop TO pg_read_all_data, pg_monitor""");
            Checksums.execute(dst, "postgres", "CREATE ROLE ferry_admin LOGIN CREATEROLE CREATEDB PASSWORD 'ferry-admin'");
            String m = "/v1/migrations/managed/";
            try (AgentHandle source = AgentHandle.startAs(src, dir.resolve("s"), "src_admin", "src-admin");
                 AgentHandle monitor = AgentHandle.startAs(src, dir.resolve("mon"), "src_monitor", "src-monitor");
                 AgentHandle target = AgentHandle.startAs(dst, dir.resolve("t"), "ferry_admin", "ferry-admin")) {
                MigrationFlow.ok(source.post(m + "schema-archive", Map.of("database", "shop")));
                JsonNode roles = MigrationFlow.ok(source.get(m + "roles?database=shop"));
                assertTrue(roles.get("passwords_read").asBoolean(), "pg_read_all_data reads pg_authid too");

                // Without pg_authid: no verifier, and every login role reported.
                Path manifest = dir.resolve("s/state/managed/schema.manifest.json");
                Files.createDirectories(dir.resolve("mon/state/managed"));
                Files.copy(manifest, dir.resolve("mon/state/managed/schema.manifest.json"));
                JsonNode blind = MigrationFlow.ok(monitor.get(m + "roles?database=shop"));
                assertFalse(blind.get("passwords_read").asBoolean());
                assertFalse(blind.toString().contains("SCRAM-SHA-256"), blind.toString());
                JsonNode planned = MigrationFlow.ok(target.put(m + "roles", Map.of("database", "shop", "roles",
                        blind.get("roles"), "check", true)));
                String notMoved = planned.at("/roles/passwords_not_moved").toString();
                for (String login : List.of("shop_rw", "shop_ro", "Audit")) {
                    assertTrue(notMoved.contains(login), login + " is reported: " + notMoved);
                }

                JsonNode created = MigrationFlow.ok(target.put(m + "roles", Map.of("database", "shop", "roles",
                        roles.get("roles"))));
                assertEquals(Set.copyOf(ROLES), names(created.at("/roles/created")));
                assertEquals(0, created.at("/roles/passwords_not_moved").size(), created.toString());
                assertTrue(created.get("queries").toString().contains("GRANT \\\"shop_owner\\\" TO \\\"ferry_admin\\\""),
                        "the admin becomes a member of the owner it must act as: " + created.get("queries"));
                assertFalse(created.toString().contains("SCRAM-SHA-256"), "a verifier in the target's answer");

                MigrationFlow.ok(target.put(m + "database", Map.of("database", "shop", "owner", "shop_owner")));
                byte[] archive = source.get(m + "schema-archive").raw();
                String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(archive));
                MigrationFlow.ok(target.putBytes(m + "schema-archive", archive, sha));
                MigrationFlow.ok(target.put(m + "schema-archive/manifest", MigrationFlow.ok(
                        source.get(m + "schema-archive/manifest"))));
                MigrationFlow.job(target, target.post(m + "schema-apply", Map.of("database", "shop")));
                MigrationFlow.job(target, target.post(m + "post-data", Map.of("database", "shop")));

                JsonNode compared = MigrationFlow.ok(target.put(m + "privileges", Map.of("database", "shop",
                        "source", MigrationFlow.ok(source.get(m + "privileges?database=shop")), "check", true)));
                assertTrue(compared.at("/privileges/equal").asBoolean(), compared.toString());
                assertEquals(PrivilegeSnapshot.of(src, "shop", List.of("shop", "public"), ROLES, Map.of()),
                        PrivilegeSnapshot.of(dst, "shop", List.of("shop", "public"), ROLES, Map.of()));
                assertEquals(0, Checksums.count(dst, "shop", "SELECT count(*) FROM pg_class "
                        + "WHERE relowner = 'ferry_admin'::regrole"), "no object is left to the agent's role");
            }
            // The application's roles log in with their own passwords and may what they may.
            try (Connection c = PrivilegesMigrationTest.login(dst, "shop", "shop_ro", "ro-secret");
                 Statement st = c.createStatement()) {
                st.execute("SELECT count(*) FROM shop.totals");
                SQLException refused = assertThrows(SQLException.class,
                        () -> st.execute("DELETE FROM shop.customers"));
                assertEquals("42501", refused.getSQLState());
            }
        } finally {
            src.destroy();
            dst.destroy();
        }
    }

    private static Set<String> names(JsonNode array) {
        Set<String> out = new TreeSet<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
