package io.pgferry.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.AgentHandle.Answer;
import io.pgferry.agent.testbed.PgCluster;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The whole migration, step by step, the way the Ansible role drives it: source and target agents, each beside
 * its real cluster. Every step's answer is checked, so a test built on it fails at the step that broke.
 */
final class MigrationFlow {
    final String migration;
    final String database;
    final PgCluster sourceCluster;
    final AgentHandle source;
    final AgentHandle target;
    final String password;
    final Map<String, Object> scope;
    /** The target's database (the source's name unless consolidating under another). */
    final String targetDatabase;
    final Map<String, String> roleMap;
    /** Extra fields of the replication-role request (row_security, ...). */
    final Map<String, Object> role = new LinkedHashMap<>();

    MigrationFlow(String migration, String database, PgCluster sourceCluster, AgentHandle source,
                  AgentHandle target, String password, Map<String, Object> scope) {
        this(migration, database, database, Map.of(), sourceCluster, source, target, password, scope);
    }

    MigrationFlow(String migration, String database, String targetDatabase, Map<String, String> roleMap,
                  PgCluster sourceCluster, AgentHandle source, AgentHandle target, String password,
                  Map<String, Object> scope) {
        this.migration = migration;
        this.database = database;
        this.targetDatabase = targetDatabase;
        this.roleMap = roleMap;
        this.sourceCluster = sourceCluster;
        this.source = source;
        this.target = target;
        this.password = password;
        this.scope = scope;
    }

    private Map<String, Object> onTarget(Object... extra) {
        Map<String, Object> b = body(extra);
        b.put("database", targetDatabase);
        return b;
    }

    private String path(String step) {
        return "/v1/migrations/" + migration + "/" + step;
    }

    private Map<String, Object> body(Object... extra) {
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("database", database);
        for (int i = 0; i < extra.length; i += 2) {
            b.put((String) extra[i], extra[i + 1]);
        }
        return b;
    }

    private Map<String, Object> scoped(Object... extra) {
        Map<String, Object> b = body(extra);
        b.putAll(scope);
        return b;
    }

    /** Runs every step; returns each step's "changed", so a rerun can assert that nothing changed. */
    Map<String, Boolean> run() throws Exception {
        Map<String, Boolean> changed = schema();
        changed.putAll(stream());
        return changed;
    }

    /** The role, the schema archive and the target's database and schema. */
    Map<String, Boolean> schema() throws Exception {
        Map<String, Boolean> changed = new LinkedHashMap<>();
        Map<String, Object> roleBody = scoped("password", password);
        roleBody.putAll(role);
        changed.put("replication-role", ok(source.put(path("replication-role"), roleBody)).get("changed").asBoolean());
        changed.put("schema-archive", ok(source.post(path("schema-archive"), scoped())).get("changed").asBoolean());
        Answer archive = source.get(path("schema-archive"));
        assertEquals(200, archive.status(), "download the archive");
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(archive.raw()));
        assertEquals(sha, archive.response().headers().firstValue("X-Pgferry-Sha256").orElse(""));
        Answer manifest = source.get(path("schema-archive/manifest"));
        ok(manifest);

        // The roles the database needs, before the database (its owner) and the schema (owners, grants).
        JsonNode roles = ok(source.get(path("roles") + "?database=" + database));
        changed.put("roles", ok(target.put(path("roles"), onTarget("roles", roles.get("roles"),
                "role_map", roleMap))).get("changed").asBoolean());

        JsonNode db = null;
        for (JsonNode d : ok(source.get("/v1/info")).get("databases")) {
            db = d.get("name").asText().equals(database) ? d : db;
        }
        String owner = db.get("owner").asText();
        changed.put("database", ok(target.put(path("database"), onTarget("owner", roleMap.getOrDefault(owner, owner),
                "encoding", db.get("encoding").asText(), "lc_collate", db.get("collate").asText(),
                "lc_ctype", db.get("ctype").asText()))).get("changed").asBoolean());
        assertTrue(target.putBytes(path("schema-archive"), archive.raw(), sha).status() < 300, "upload the archive");
        assertTrue(target.putJsonBytes(path("schema-archive/manifest"), manifest.raw()).status() < 300,
                "upload the manifest");
        changed.put("schema-apply", job(target, target.post(path("schema-apply"), onTarget("role_map", roleMap)))
                .get("changed").asBoolean());
        return changed;
    }

    /** The publication, the subscription and its initial copy, then post-data. */
    Map<String, Boolean> stream() throws Exception {
        Map<String, Boolean> changed = new LinkedHashMap<>();
        changed.put("publication", ok(source.put(path("publication"), scoped())).get("changed").asBoolean());
        changed.put("subscription", ok(target.put(path("subscription"), onTarget("connection", connection())))
                .get("changed").asBoolean());
        awaitReady();
        changed.put("post-data", job(target, target.post(path("post-data"), onTarget("role_map", roleMap)))
                .get("changed").asBoolean());
        changed.put("privileges", privilegesAsTheRoleDoes().get("changed").asBoolean());
        return changed;
    }

    /**
     * As the migrate role: the target agent reads the source's privileges over the subscription's connection; where it
     * cannot reach the source that way (in the container test bed the source's name resolves inside the containers'
     * network only), the source agent's answer is carried instead.
     */
    JsonNode privilegesAsTheRoleDoes() throws Exception {
        Answer direct = privilegesOver(connection(), false);
        if (direct.status() == 502 && "source_unreachable".equals(direct.at("/code").asText())) {
            return privileges(false);
        }
        return ok(direct);
    }

    /** How the subscription, and the target agent's reads of the source, reach it. */
    Map<String, Object> connection() {
        return Map.of("host", sourceCluster.peerHost(), "port", sourceCluster.peerPort(), "dbname", database,
                "user", "pgferry_" + migration, "password", password);
    }

    /** The privileges step: the source's owners and grants made the target's; with check, only compared. */
    JsonNode privileges(boolean check) throws Exception {
        JsonNode theirs = ok(source.get(path("privileges") + "?database=" + database));
        return ok(target.put(path("privileges"), onTarget("source", theirs, "role_map", roleMap, "check", check)));
    }

    /** The same, the target agent reading the source's privileges itself over the subscription's connection. */
    JsonNode privilegesOverConnection(boolean check) throws Exception {
        return ok(privilegesOver(connection(), check));
    }

    Answer privilegesOver(Map<String, Object> connection, boolean check) throws Exception {
        return target.put(path("privileges"), onTarget("connection", connection, "role_map", roleMap, "check", check));
    }

    void awaitReady() throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofMinutes(2));
        JsonNode status = null;
        while (Instant.now().isBefore(deadline)) {
            status = ok(target.get(path("sync-status") + "?database=" + targetDatabase));
            if (status.get("all_ready").asBoolean()) {
                return;
            }
            Thread.sleep(200);
        }
        fail("tables not ready within 2 minutes: " + status);
    }

    /** Waits until the source's slot has nothing left to send. */
    void awaitCaughtUp() throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofMinutes(1));
        JsonNode status = null;
        while (Instant.now().isBefore(deadline)) {
            status = ok(source.get(path("status") + "?database=" + database));
            if (status.at("/slot/lag_bytes").asLong(-1) == 0) {
                return;
            }
            Thread.sleep(200);
        }
        fail("replication did not catch up within a minute: " + status);
    }

    static JsonNode ok(Answer a) {
        if (a.status() >= 300) {
            fail("HTTP " + a.status() + ": " + a.body());
        }
        return a.body();
    }

    /** Follows a job to its end; a job answered synchronously (200) is already done. */
    static JsonNode job(AgentHandle agent, Answer started) throws Exception {
        JsonNode body = ok(started);
        JsonNode job = body.has("job") ? body.get("job") : body;
        Instant deadline = Instant.now().plus(Duration.ofMinutes(3));
        while (job.path("state").asText().equals("running") && Instant.now().isBefore(deadline)) {
            Thread.sleep(200);
            job = ok(agent.get("/v1/jobs/" + java.net.URLEncoder.encode(job.get("id").asText(),
                    java.nio.charset.StandardCharsets.UTF_8)));
        }
        assertEquals("succeeded", job.path("state").asText(), "job ended: " + job);
        return job.get("result");
    }

    static void assertNothingChanged(Map<String, Boolean> changed) {
        List<String> steps = changed.entrySet().stream().filter(Map.Entry::getValue).map(Map.Entry::getKey).toList();
        assertTrue(steps.isEmpty(), "a rerun changed something in: " + steps);
    }
}
