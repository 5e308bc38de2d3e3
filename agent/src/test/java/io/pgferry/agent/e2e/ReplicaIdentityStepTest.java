package io.pgferry.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.AgentHandle.Answer;
import io.pgferry.agent.testbed.PgBedTool;
import io.pgferry.agent.testbed.PgCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replica_identity step on a real PostgreSQL 16 source and 17 target, with fixtures/lifecycle.sql's key-less
 * table (REPLICA IDENTITY FULL) and table identified by a unique index (USING INDEX), names needing quotes: the
 * target gets the source's identities before the subscription streams (check mode first, changing nothing), a rerun
 * changes nothing, the stream then applies UPDATE and DELETE on both, and an index the target lacks is refused.
 */
class ReplicaIdentityStepTest {
    private static final String DB = "app";
    private static final String M = "ident";
    private static final Map<String, Object> SCOPE = Map.of("exclude_schemas", List.of("excluded"));
    private static final String AUDIT = "\"ünïcode ☃\".\"Quote\"\"d Audit\"";
    private static final String COUNTERS = "\"Sales Ops\".\"Counters\"";
    private static final String IDENTITIES = """
            SELECT string_agg(c.relname || '=' || c.relreplident::text || coalesce(' ' || (SELECT ic.relname
                     FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                     WHERE i.indrelid = c.oid AND i.indisreplident), ''), ',' ORDER BY c.relname)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname IN ('ünïcode ☃', 'Sales Ops') AND c.relname IN ('Quote"d Audit', 'Counters')""";

    @Test
    void targetGetsTheSourcesIdentitiesBeforeTheStreamOnceAndCheckModeChangesNothing(@TempDir Path dir)
            throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        PgCluster src = PgCluster.create("ident-src-" + run, 16);
        PgCluster dst = PgCluster.create("ident-dst-" + run, 17);
        try (AgentHandle source = AgentHandle.start(src, dir.resolve("source"));
             AgentHandle target = AgentHandle.start(dst, dir.resolve("target"))) {
            Checksums.execute(src, "postgres", "CREATE DATABASE " + DB);
            Checksums.execute(src, DB, Files.readString(PgBedTool.repoRoot().resolve("fixtures/basic.sql")));
            Checksums.execute(src, DB, Files.readString(PgBedTool.repoRoot().resolve("fixtures/lifecycle.sql")));
            String password = "ident 'pw' " + run;

            // The role's order: the publication sets the identities asked for and answers the scope's.
            Map<String, Object> pub = new LinkedHashMap<>(SCOPE);
            pub.put("database", DB);
            pub.put("replica_identity_full", List.of(Map.of("schema", "ünïcode ☃", "name", "Quote\"d Audit")));
            pub.put("replica_identity_index", List.of(Map.of("schema", "Sales Ops", "name", "Counters",
                    "index", "Counters Key")));
            JsonNode published = MigrationFlow.ok(source.put(path("publication"), pub));
            JsonNode identities = published.at("/publication/replica_identities");
            assertEquals(List.of("Counters=index Counters Key", "Quote\"d Audit=full"), named(identities));
            String sourceIdentities = one(src, DB, IDENTITIES);
            assertEquals("Counters=i Counters Key,Quote\"d Audit=f", sourceIdentities);

            // Schema to the target, then its identities put back as an abandoned migration's cleanup leaves them
            // (the archive carried the source's): the step must set them again, not rely on the archive.
            MigrationFlow flow = new MigrationFlow(M, DB, src, source, target, password, SCOPE);
            flow.schema();
            assertEquals(sourceIdentities, one(dst, DB, IDENTITIES), "the archive carried them");
            Checksums.execute(dst, DB, "ALTER TABLE " + AUDIT + " REPLICA IDENTITY DEFAULT; ALTER TABLE " + COUNTERS
                    + " REPLICA IDENTITY DEFAULT");
            String before = one(dst, DB, IDENTITIES);
            assertEquals("Counters=d,Quote\"d Audit=d", before);

            Map<String, Object> step = Map.of("database", DB, "replica_identities", identities);
            Map<String, Object> check = new LinkedHashMap<>(step);
            check.put("check", true);
            JsonNode checked = MigrationFlow.ok(target.put(path("replica-identity"), check));
            assertTrue(checked.get("changed").asBoolean(), checked.toString());
            assertEquals(List.of("ALTER TABLE " + COUNTERS + " REPLICA IDENTITY USING INDEX \"Counters Key\"",
                    "ALTER TABLE " + AUDIT + " REPLICA IDENTITY FULL"), sorted(checked.get("queries")));
            assertEquals(before, one(dst, DB, IDENTITIES), "check mode changed nothing");
            assertEquals(0, lifecycle(target).at("/state/replica_identity_changes").size(), "nor recorded anything");

            JsonNode set = MigrationFlow.ok(target.put(path("replica-identity"), step));
            assertTrue(set.get("changed").asBoolean());
            assertEquals(sorted(checked.get("queries")), sorted(set.get("queries")), "ran what check mode showed");
            assertEquals(2, set.get("changed_tables").size(), set.toString());
            assertEquals(sourceIdentities, one(dst, DB, IDENTITIES), "the target's are the source's");
            JsonNode recorded = lifecycle(target).at("/state/replica_identity_changes");
            assertEquals(2, recorded.size(), recorded.toString());
            recorded.forEach(ch -> assertEquals("default", ch.get("original").asText(), "for cleanup"));

            JsonNode rerun = MigrationFlow.ok(target.put(path("replica-identity"), step));
            assertFalse(rerun.get("changed").asBoolean(), rerun.toString());
            assertEquals(0, rerun.get("queries").size(), rerun.toString());

            // The index a source identity names is not on the target: refused before anything changes.
            Checksums.execute(dst, DB, "ALTER TABLE " + AUDIT + " REPLICA IDENTITY DEFAULT");
            List<Map<String, String>> wrong = List.of(Map.of("schema", "ünïcode ☃", "name", "Quote\"d Audit",
                    "identity", "full"), Map.of("schema", "Sales Ops", "name", "Counters", "identity",
                    "index Counters \"New\" Key"));
            Answer refused = target.put(path("replica-identity"), Map.of("database", DB, "replica_identities",
                    wrong));
            assertEquals(422, refused.status(), refused.body().toString());
            assertEquals("replica_identity_index_missing", refused.at("/code").asText());
            assertEquals("Counters=i Counters Key,Quote\"d Audit=d", one(dst, DB, IDENTITIES), "nothing changed");
            MigrationFlow.ok(target.put(path("replica-identity"), step));

            // The stream applies UPDATE and DELETE on both tables by those identities.
            flow.stream();
            Checksums.execute(src, DB, "UPDATE " + AUDIT + " SET hits = hits + 5 WHERE client = 2; DELETE FROM "
                    + AUDIT + " WHERE client = 3; UPDATE " + COUNTERS + " SET value = 42 WHERE client = 4; "
                    + "DELETE FROM " + COUNTERS + " WHERE client = 5");
            String rows = "SELECT (SELECT string_agg(client || ':' || hits, ',' ORDER BY client) FROM " + AUDIT
                    + ") || ' / ' || (SELECT string_agg(client || ':' || value, ',' ORDER BY client) FROM "
                    + COUNTERS + ")";
            String want = one(src, DB, rows);
            Instant deadline = Instant.now().plus(Duration.ofMinutes(1));
            while (!want.equals(one(dst, DB, rows)) && Instant.now().isBefore(deadline)) {
                Thread.sleep(200);
            }
            assertEquals(want, one(dst, DB, rows));
        } finally {
            if (System.getenv("PGFERRY_KEEP_CLUSTERS") == null) {
                src.destroy();
                dst.destroy();
            }
        }
    }

    private static String path(String step) {
        return "/v1/migrations/" + M + "/" + step;
    }

    private static JsonNode lifecycle(AgentHandle agent) throws Exception {
        return MigrationFlow.ok(agent.get(path("lifecycle") + "?database=" + DB));
    }

    private static List<String> named(JsonNode identities) {
        List<String> out = new ArrayList<>();
        identities.forEach(t -> out.add(t.get("name").asText() + "=" + t.get("identity").asText()));
        out.sort(null);
        return out;
    }

    private static List<String> sorted(JsonNode texts) {
        List<String> out = new ArrayList<>();
        texts.forEach(t -> out.add(t.asText()));
        out.sort(null);
        return out;
    }

    private static String one(PgCluster cluster, String db, String sql) throws Exception {
        try (var c = cluster.connect(db); var st = c.createStatement(); var rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
