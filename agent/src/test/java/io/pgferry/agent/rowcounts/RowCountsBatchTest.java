package io.pgferry.agent.rowcounts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.PgBed;
import io.pgferry.agent.testbed.PgCluster;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Row counts of many tables, counted a batch of tables per statement (RowCountsService.BATCH): more tables than three
 * batches hold, in a schema whose name needs quoting, with a partitioned table, a table without a key, an unlogged
 * table and one that does not exist among them. Every count is the table's own, in the order asked, in one snapshot;
 * the rows and keys inserted or touched since an earlier snapshot land on their own tables; a table the agent's role
 * may not count is named, wherever it sits in its batch.
 */
@PgBed(major = 16)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RowCountsBatchTest {
    private static final String DB = "many";
    private static final String PATH = "/v1/migrations/batch/";
    private static final String SCHEMA = "Vi\"ele; Tab";
    private static final String Q = "\"Vi\"\"ele; Tab\"";
    private static final int TABLES = 2 * RowCountsService.BATCH + 50;

    static PgCluster cluster;
    static AgentHandle agent;
    static AgentHandle reader;

    @BeforeAll
    static void start(@TempDir Path dir) throws Exception {
        exec("postgres", "CREATE DATABASE " + DB);
        StringBuilder sql = new StringBuilder("CREATE SCHEMA " + Q + ";\n");
        for (int i = 0; i < TABLES; i++) {
            // table i holds i % 7 rows: neighbours in a batch differ
            sql.append("CREATE TABLE ").append(Q).append(".\"t ").append(i).append("\" (id int PRIMARY KEY, v text);\n")
                    .append("INSERT INTO ").append(Q).append(".\"t ").append(i).append("\" SELECT g, 'x' FROM ")
                    .append("generate_series(1, ").append(i % 7).append(") g;\n");
        }
        sql.append("""
                CREATE TABLE %1$s.parted (id int, k int) PARTITION BY RANGE (k);
                CREATE TABLE %1$s.parted_1 PARTITION OF %1$s.parted FOR VALUES FROM (0) TO (10);
                CREATE TABLE %1$s.parted_2 PARTITION OF %1$s.parted FOR VALUES FROM (10) TO (20);
                INSERT INTO %1$s.parted SELECT g, g %% 20 FROM generate_series(1, 30) g;
                CREATE TABLE %1$s.keyless (v text);
                INSERT INTO %1$s.keyless SELECT 'k' FROM generate_series(1, 11);
                CREATE UNLOGGED TABLE %1$s.scratch (id int PRIMARY KEY);
                INSERT INTO %1$s.scratch VALUES (1);
                CREATE ROLE batch_reader LOGIN PASSWORD 'batch reader pw';
                GRANT USAGE ON SCHEMA %1$s TO batch_reader;
                GRANT SELECT ON ALL TABLES IN SCHEMA %1$s TO batch_reader;
                REVOKE SELECT ON %1$s."t 173" FROM batch_reader;
                """.formatted(Q));
        exec(DB, sql.toString());
        agent = AgentHandle.start(cluster, dir.resolve("agent"));
        reader = AgentHandle.startAs(cluster, dir.resolve("reader"), "batch_reader", "batch reader pw");
    }

    @AfterAll
    static void stop() {
        for (AgentHandle a : new AgentHandle[] {agent, reader}) {
            if (a != null) {
                a.close();
            }
        }
    }

    private static List<Map<String, Object>> tables() {
        List<Map<String, Object>> out = new ArrayList<>();
        out.add(table("parted"));
        for (int i = 0; i < TABLES; i++) {
            out.add(table("t " + i));
            if (i == 120) {
                out.add(table("no such table"));
                out.add(table("keyless"));
                out.add(table("scratch"));
            }
        }
        return out;
    }

    private static Map<String, Object> table(String name) {
        return Map.of("schema", SCHEMA, "name", name);
    }

    @Test
    @Order(1)
    void everyTableIsCountedOnItsOwnInTheOrderAsked() throws Exception {
        JsonNode counted = ok(agent.post(PATH + "row-counts", Map.of("database", DB, "tables", tables())));
        JsonNode rows = counted.get("tables");
        // the unlogged table is left out: its rows never replicate
        assertEquals(TABLES + 3, rows.size(), counted.toString());
        assertEquals("parted", rows.get(0).get("name").asText());
        assertEquals(30, rows.get(0).get("rows").asLong(), "a partitioned table counts its partitions");
        for (int i = 0; i < TABLES; i++) {
            JsonNode t = rows.get(1 + i + (i > 120 ? 2 : 0));
            assertEquals("t " + i, t.get("name").asText());
            assertEquals(SCHEMA, t.get("schema").asText());
            assertEquals(i % 7, t.get("rows").asLong(), t.toString());
            assertTrue(t.get("inserted_since").isNull(), t.toString());
        }
        JsonNode missing = rows.get(122);
        assertEquals("no such table", missing.get("name").asText());
        assertTrue(missing.get("rows").isNull(), missing.toString());
        assertEquals(11, rows.get(123).get("rows").asLong());
    }

    @Test
    @Order(2)
    void changesSinceAnEarlierSnapshotLandOnTheirOwnTables() throws Exception {
        // no manifest here: the tables are named. "t 230"'s rows frozen: their xmin is no transaction any more, and
        // the row deleted below is still found touched by its xmax.
        exec(DB, "VACUUM (FREEZE) " + Q + ".\"t 230\"");
        JsonNode s1 = ok(agent.post(PATH + "row-counts/snapshot", Map.of("database", DB, "tables", tables())));
        exec(DB, "INSERT INTO " + Q + ".\"t 3\" VALUES (100, 'new'); DELETE FROM " + Q + ".\"t 230\" WHERE id = 2; "
                + "INSERT INTO " + Q + ".keyless VALUES ('n'); INSERT INTO " + Q + ".parted VALUES (31, 15)");
        JsonNode s2 = ok(agent.post(PATH + "row-counts/snapshot", Map.of("database", DB, "tables", tables())));
        Map<String, Object> body = new LinkedHashMap<>(Map.of("database", DB, "tables", tables(), "since",
                s1.get("visible").asText(), "keys", true, "release", false));
        body.put("snapshot", s2.get("snapshot").asText());
        JsonNode after = ok(agent.post(PATH + "row-counts", body)).get("tables");
        body.put("snapshot", s1.get("snapshot").asText());
        JsonNode before = ok(agent.post(PATH + "row-counts", body)).get("tables");
        for (int i = 0; i < after.size(); i++) {
            JsonNode a = after.get(i);
            JsonNode b = before.get(i);
            String name = a.get("name").asText();
            if (name.equals("no such table")) {
                continue;
            }
            long inserted = switch (name) {
                case "t 3", "keyless", "parted" -> 1;
                default -> 0;
            };
            assertEquals(inserted, a.get("inserted_since").asLong(), a.toString());
            assertEquals(0, b.get("inserted_since").asLong(), b.toString());
            if (name.equals("keyless")) {
                assertTrue(a.get("new_keys").isNull(), "no key, no keys: " + a);
                continue;
            }
            if (name.equals("parted")) {
                continue;
            }
            assertEquals(name.equals("t 3") ? "[{\"id\":100}]" : "[]", a.get("new_keys").toString(), a.toString());
            assertEquals(name.equals("t 230") ? "[{\"id\":2}]" : "[]", b.get("touched_keys").toString(),
                    b.toString());
        }
        // each half alone answers as both did, the other half null; a bad value or one without since is a 400
        body.put("snapshot", s2.get("snapshot").asText());
        body.put("changes", "inserted");
        JsonNode inserted = ok(agent.post(PATH + "row-counts", body)).get("tables");
        body.put("snapshot", s1.get("snapshot").asText());
        body.put("changes", "touched");
        JsonNode touched = ok(agent.post(PATH + "row-counts", body)).get("tables");
        for (int i = 0; i < after.size(); i++) {
            assertEquals(after.get(i).get("rows"), inserted.get(i).get("rows"));
            assertEquals(after.get(i).get("inserted_since"), inserted.get(i).get("inserted_since"));
            assertEquals(after.get(i).get("new_keys"), inserted.get(i).get("new_keys"));
            assertTrue(inserted.get(i).get("touched_keys").isNull(), inserted.get(i).toString());
            assertEquals(before.get(i).get("rows"), touched.get(i).get("rows"));
            assertEquals(before.get(i).get("touched_keys"), touched.get(i).get("touched_keys"));
            assertTrue(touched.get(i).get("inserted_since").isNull(), touched.get(i).toString());
            assertTrue(touched.get(i).get("new_keys").isNull(), touched.get(i).toString());
        }
        body.put("changes", "deleted");
        assertEquals(400, agent.post(PATH + "row-counts", body).status());
        body.remove("since");
        body.put("changes", "touched");
        body.put("keys", false);
        assertEquals(400, agent.post(PATH + "row-counts", body).status());
        // the lookups read the tables' keys the same way
        JsonNode found = ok(agent.post(PATH + "row-counts/lookup", Map.of("database", DB, "snapshot",
                s2.get("snapshot").asText(), "tables", List.of(
                        Map.of("schema", SCHEMA, "name", "t 230", "keys", List.of(Map.of("id", 1), Map.of("id", 2))),
                        Map.of("schema", SCHEMA, "name", "no such table", "keys", List.of(Map.of("id", 1))),
                        Map.of("schema", SCHEMA, "name", "t 3", "keys", List.of(Map.of("id", 100)))))));
        assertEquals("[{\"id\":1}]", found.at("/tables/0/found").toString(), found.toString());
        assertEquals("[]", found.at("/tables/1/found").toString(), found.toString());
        assertEquals("[{\"id\":100}]", found.at("/tables/2/found").toString(), found.toString());
        for (JsonNode s : List.of(s1, s2)) {
            agent.delete(PATH + "row-counts/snapshot?snapshot=" + s.get("snapshot").asText());
        }
    }

    @Test
    @Order(3)
    void aTableTheRoleMayNotCountIsNamedWhereverItSitsInItsBatch() throws Exception {
        AgentHandle.Answer refused = reader.post(PATH + "row-counts", Map.of("database", DB, "tables", tables()));
        assertEquals(422, refused.status(), refused.body().toString());
        assertEquals("rows_not_countable", refused.at("/code").asText());
        assertEquals(Q + ".\"t 173\"", refused.at("/objects/0").asText(), refused.body().toString());
        assertEquals(1, refused.at("/objects").size(), refused.body().toString());
    }

    private static JsonNode ok(AgentHandle.Answer a) {
        assertEquals(200, a.status(), a.body() == null ? "" : a.body().toString());
        return a.body();
    }

    private static void exec(String db, String sql) throws Exception {
        try (Connection c = cluster.connect(db); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}
