package io.pgferry.agent.copy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.testbed.PgBed;
import io.pgferry.agent.testbed.PgCluster;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Whether the default plan splits a large table into ranges depends on the target's CPUs: on fewer than three it is
 * copied whole (one writer keeps the heap's order for the index builds), on more it is split; a piece size set by the
 * operator splits on any host. Read from a real table of about 150 MiB, just over twice the smallest split.
 */
@PgBed(major = 16)
class CopyPlanSplitTest {
    static PgCluster cluster;
    private static final List<TableRef> TABLES = List.of(new TableRef("Big Data", "wide \"rows\""),
            new TableRef("Big Data", "small"));

    @BeforeAll
    static void load() throws Exception {
        try (Connection c = cluster.connect("postgres"); Statement st = c.createStatement()) {
            String wide = "\"Big Data\".\"wide \"\"rows\"\"\"";
            st.execute("CREATE SCHEMA \"Big Data\"");
            st.execute("CREATE TABLE " + wide + " (id int PRIMARY KEY, pad text STORAGE PLAIN)");
            st.execute("INSERT INTO " + wide + " SELECT g, repeat('x', 1500) FROM generate_series(1, 100000) g");
            st.execute("CREATE TABLE \"Big Data\".small (id int)");
            st.execute("INSERT INTO \"Big Data\".small SELECT generate_series(1, 1000)");
        }
    }

    private static CopyPlan plan(int jobs, Long pieceBytes, int cpus) throws Exception {
        try (Connection c = cluster.connect("postgres")) {
            return CopyPlan.read(c, TABLES, jobs, pieceBytes, cpus, true);
        }
    }

    private static long pieces(CopyPlan plan, String table) {
        return plan.pieces().stream().filter(p -> p.relation().name().equals(table)).count();
    }

    @Test
    void twoCpusCopyEachTableWholeAndSaySo() throws Exception {
        CopyPlan plan = plan(2, null, 2);
        assertEquals(1, pieces(plan, "wide \"rows\""), "one writer for the large table");
        assertEquals(1, pieces(plan, "small"));
        assertTrue(plan.notes().stream().anyMatch(n -> n.contains("2 CPU(s)") && n.contains("piece_bytes")),
                plan.notes().toString());
    }

    @Test
    void moreCpusSplitTheLargeTableIntoRangesThatCoverIt() throws Exception {
        CopyPlan plan = plan(2, null, 4);
        List<CopyPiece> ranges = plan.pieces().stream()
                .filter(p -> p.relation().name().equals("wide \"rows\"")).toList();
        assertTrue(ranges.size() >= 2, "split into ranges: " + ranges.size());
        assertTrue(ranges.stream().anyMatch(p -> p.fromBlock() == 0) && ranges.stream()
                .anyMatch(p -> p.toBlock() == null), "from the first block to the open end");
        assertEquals(1, pieces(plan, "small"));
        assertTrue(plan.notes().isEmpty(), plan.notes().toString());
    }

    @Test
    void aPieceSizeSetSplitsOnTwoCpusAndOneJobNeverWarns() throws Exception {
        assertTrue(pieces(plan(2, 64L * 1024 * 1024, 2), "wide \"rows\"") >= 2);
        assertTrue(plan(1, null, 2).notes().isEmpty(), "one job never writes a table twice at once");
    }
}
