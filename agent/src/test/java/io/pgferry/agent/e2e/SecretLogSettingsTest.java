package io.pgferry.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgferry.agent.testbed.AgentFixture;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.PgBedTool;
import io.pgferry.agent.testbed.PgCluster;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every PostgreSQL setting that records statement text, turned on (on a 14 source and an 18 target, superuser agents):
 * statement, duration and sample logging with parse/bind/execute lines and bind parameters, the parse, rewrite and
 * plan trees, auto_explain with parameters, pg_stat_statements with utility statements. Then every statement that
 * carries a password runs through the agents: CREATE and ALTER ROLE .. PASSWORD, CREATE and ALTER SUBSCRIPTION ..
 * CONNECTION, the reverse stream's role and subscription, the preflight's dblink probe. No password, and no SCRAM
 * verifier either, may be in either server log or either pg_stat_statements.
 */
class SecretLogSettingsTest {
    private static final String VERIFIER = "SCRAM-SHA-256$";

    @Test
    void noSecretInAnyLogOrStatisticsWithEveryStatementSettingOn(@TempDir Path dir) throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        PgCluster src = PgCluster.create("loud-src-" + run, 14);
        PgCluster dst = PgCluster.create("loud-dst-" + run, 18);
        try {
            Map<PgCluster, Long> logFrom = new LinkedHashMap<>();
            for (PgCluster c : List.of(src, dst)) {
                loudest(c);
                logFrom.put(c, Files.size(c.logFile()));
            }
            Map<String, String> secrets = new LinkedHashMap<>();
            for (String name : List.of("role password", "new role password", "reverse password", "probe password")) {
                secrets.put(name, "pw-" + AgentFixture.newToken());
            }
            try (AgentHandle source = AgentHandle.start(src, dir.resolve("source"));
                 AgentHandle target = AgentHandle.start(dst, dir.resolve("target"))) {
                Checksums.execute(src, "postgres", "CREATE DATABASE app");
                Checksums.execute(src, "app", Files.readString(PgBedTool.repoRoot().resolve("fixtures/basic.sql")));
                // CREATE ROLE .. PASSWORD on the source, then the whole migration up to CREATE SUBSCRIPTION.
                MigrationFlow first = new MigrationFlow("loud", "app", src, source, target,
                        secrets.get("role password"), Map.of("exclude_schemas", List.of("excluded")));
                first.run();
                // ALTER ROLE .. PASSWORD, then ALTER SUBSCRIPTION .. CONNECTION with the new one.
                new MigrationFlow("loud", "app", src, source, target, secrets.get("new role password"),
                        Map.of("exclude_schemas", List.of("excluded"))).run();
                // The reverse stream: CREATE ROLE on the target, CREATE SUBSCRIPTION on the source.
                MigrationFlow.ok(target.put("/v1/migrations/loud/reverse-replication", Map.of("database", "app",
                        "side", "publisher", "password", secrets.get("reverse password"))));
                MigrationFlow.ok(source.put("/v1/migrations/loud/reverse-replication", Map.of("database", "app",
                        "side", "subscriber", "connection", Map.of("host", dst.host(), "port", dst.port(),
                                "dbname", "app", "user", "pgferry_loud", "password", secrets.get("reverse password"),
                                "sslmode", "disable"))));
                // The preflight's probe through dblink (the conninfo a bind parameter), on the 14 server.
                Checksums.execute(src, "postgres", "CREATE EXTENSION dblink");
                MigrationFlow.ok(source.post("/v1/migrations/probe/preflight", Map.of("side", "target",
                        "database", "postgres", "connection", Map.of("host", dst.host(), "port", dst.port(),
                                "dbname", "app", "user", "pgferry_loud", "password", secrets.get("probe password"),
                                "sslmode", "disable"))));
                assertEquals(1, Checksums.count(dst, "app", "SELECT count(*) FROM pg_subscription"));
                assertEquals(1, Checksums.count(src, "app", "SELECT count(*) FROM pg_subscription"));
                Checksums.execute(src, "app", "ALTER SUBSCRIPTION pgferry_loud_reverse DISABLE");
                Checksums.execute(src, "app", "ALTER SUBSCRIPTION pgferry_loud_reverse SET (slot_name = NONE)");
                Checksums.execute(src, "app", "DROP SUBSCRIPTION pgferry_loud_reverse");
                Checksums.execute(dst, "app", "DROP SUBSCRIPTION pgferry_loud");
            }
            List<String> leaks = new ArrayList<>();
            for (PgCluster c : List.of(src, dst)) {
                String where = "PostgreSQL " + c.major();
                String log = tail(c.logFile(), logFrom.get(c));
                String statements = String.join("\n", strings(c, "SELECT query FROM pg_stat_statements"));
                assertTrue(log.contains("duration:") && log.contains("statement:") && log.contains("parse tree"),
                        where + ": the settings took effect, the log is not vacuous");
                assertTrue(statements.contains("pg_catalog"), where + ": pg_stat_statements recorded the agent");
                for (Map.Entry<String, String> s : secrets.entrySet()) {
                    if (log.contains(s.getValue())) {
                        leaks.add(s.getKey() + " in the server log of " + where);
                    }
                    if (statements.contains(s.getValue())) {
                        leaks.add(s.getKey() + " in pg_stat_statements of " + where);
                    }
                }
                if (log.contains(VERIFIER)) {
                    leaks.add("a SCRAM verifier in the server log of " + where);
                }
                if (statements.contains(VERIFIER)) {
                    leaks.add("a SCRAM verifier in pg_stat_statements of " + where);
                }
            }
            assertTrue(leaks.isEmpty(), "secrets recorded: " + leaks);
            assertFalse(secrets.isEmpty());
        } finally {
            src.destroy();
            dst.destroy();
        }
    }

    /** Every setting that records statement text or parameters, on; the libraries need a restart. */
    static void loudest(PgCluster c) throws Exception {
        Checksums.execute(c, "postgres", "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements', "
                + "'auto_explain'");
        c.stop();
        c.start();
        List<String> settings = new ArrayList<>(List.of(
                "log_statement = 'all'", "log_min_duration_statement = 0", "log_min_duration_sample = 0",
                "log_statement_sample_rate = 1", "log_transaction_sample_rate = 1", "log_duration = on",
                "log_parameter_max_length = -1", "log_parameter_max_length_on_error = -1",
                "log_min_error_statement = 'info'", "log_min_messages = 'info'", "debug_print_parse = on",
                "debug_print_rewritten = on", "debug_print_plan = on", "auto_explain.log_min_duration = 0",
                "auto_explain.log_nested_statements = on", "auto_explain.log_analyze = on",
                "pg_stat_statements.track = 'all'", "pg_stat_statements.track_utility = on"));
        if (c.major() >= 16) {
            settings.add("auto_explain.log_parameter_max_length = -1");
        }
        for (String s : settings) {
            Checksums.execute(c, "postgres", "ALTER SYSTEM SET " + s);
        }
        Checksums.execute(c, "postgres", "SELECT pg_reload_conf()");
        Checksums.execute(c, "postgres", "CREATE EXTENSION pg_stat_statements");
        Thread.sleep(300);
    }

    private static String tail(Path file, long from) throws Exception {
        try (InputStream in = Files.newInputStream(file)) {
            in.skipNBytes(from);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static List<String> strings(PgCluster c, String sql) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection conn = c.connect("postgres"); Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
