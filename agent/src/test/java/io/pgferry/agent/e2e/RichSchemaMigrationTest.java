package io.pgferry.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.ContainerBed;
import io.pgferry.agent.testbed.PgBedTool;
import io.pgferry.agent.testbed.PgCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A schema like real ones — quoted and unicode names, a 63-byte name, extensions, enum/domain/composite types,
 * generated and identity columns, partitions with a default, views, a trigger, deferrable FKs, an exclusion
 * constraint, toasted values — moved from PostgreSQL 14 to 18 while a writer inserts, updates and deletes on
 * the source during and after the initial copy.
 */
class RichSchemaMigrationTest {
    private static final List<String> EXCLUDED = List.of("excluded");
    /** Every index, constraint and user trigger of the schemas that move, by name and table. */
    private static final String OBJECTS = """
            SELECT 'index ' || format('%I.%I', schemaname, indexname) || ' on ' || tablename FROM pg_indexes
             WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'excluded')
            UNION ALL
            SELECT 'constraint ' || c.conname || ' ' || c.contype::text || ' on ' || c.conrelid::regclass::text
                   || ' deferrable=' || c.condeferrable || ' deferred=' || c.condeferred
              FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'excluded')
               AND c.contype <> 'n'  -- PostgreSQL 18 catalogs NOT NULL as constraints; older versions do not
            UNION ALL
            SELECT 'trigger ' || t.tgname || ' on ' || t.tgrelid::regclass::text FROM pg_trigger t WHERE NOT t.tgisinternal
            UNION ALL
            SELECT 'matview ' || matviewname || ' populated=' || ispopulated FROM pg_matviews
            UNION ALL
            SELECT 'view ' || viewname FROM pg_views WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
            """;

    @Test
    void movesEveryRowAndObjectUnderWrites(@TempDir Path dir) throws Exception {
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        PgCluster src = ContainerBed.server("rich-src-" + suffix, 14);
        PgCluster dst = ContainerBed.server("rich-dst-" + suffix, 18);
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicLong writes = new AtomicLong();
        Thread writer = null;
        try (AgentHandle source = AgentHandle.start(src, dir.resolve("source"));
             AgentHandle target = AgentHandle.start(dst, dir.resolve("target"))) {
            Path fixtures = PgBedTool.repoRoot().resolve("fixtures");
            Checksums.execute(src, "postgres", "CREATE DATABASE app");
            Checksums.execute(src, "app", Files.readString(fixtures.resolve("rich.sql")));
            Checksums.execute(src, "app", Files.readString(fixtures.resolve("basic.sql")));
            writer = new Thread(() -> write(src, writing, writes), "source-writer");
            writer.start();

            MigrationFlow flow = new MigrationFlow("rich", "app", src, source, target, "rich-" + suffix,
                    Map.of("exclude_schemas", EXCLUDED));
            flow.run();
            Thread.sleep(500);
            writing.set(false);
            writer.join();
            assertTrue(writes.get() > 0, "the writer wrote during the migration");
            flow.awaitCaughtUp();
            MigrationPairsTest.awaitEqual(src, dst);
            assertEquals(objects(src), objects(dst), "indexes, constraints, triggers and views");
            MigrationFlow.assertNothingChanged(flow.run());
            Checksums.execute(dst, "app", "DROP SUBSCRIPTION pgferry_rich");
        } finally {
            writing.set(false);
            if (writer != null) {
                writer.join();
            }
            src.destroy();
            dst.destroy();
        }
    }

    /** Inserts, updates (one of them toasted) and deletes on several tables, one transaction a round. */
    private static void write(PgCluster src, AtomicBoolean writing, AtomicLong writes) {
        try (Connection c = src.connect("app"); Statement st = c.createStatement()) {
            for (long i = 1; writing.get(); i++) {
                st.execute("BEGIN");
                st.execute("INSERT INTO included.orders (customer_id, amount) VALUES (" + (1 + i % 1000) + ", " + i
                        + ")");
                st.execute("UPDATE \"Sales Dept\".invoices SET total = " + (i % 97) + " WHERE id = " + (1 + i % 2000));
                st.execute("DELETE FROM included.orders WHERE id = (SELECT min(id) FROM included.orders)");
                st.execute("INSERT INTO public.measurements (taken, value) VALUES ('2025-06-01'::date + " + (i % 400)
                        + ", " + i + ")");
                st.execute("UPDATE public.documents SET body = repeat(md5('" + i + "'), 20000) WHERE id = "
                        + (1 + i % 20));
                st.execute("UPDATE \"ünïcødé_schéma\".\"Ðata ✓\" SET \"välue\" = 'neu " + i + "' WHERE id = "
                        + (1 + i % 100));
                st.execute("COMMIT");
                writes.incrementAndGet();
                Thread.sleep(20);
            }
        } catch (Exception e) {
            throw new IllegalStateException("the source writer failed", e);
        }
    }

    private static Set<String> objects(PgCluster cluster) throws Exception {
        Set<String> names = new TreeSet<>();
        try (Connection c = cluster.connect("app"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(OBJECTS)) {
            while (rs.next()) {
                names.add(rs.getString(1));
            }
        }
        return names;
    }
}
