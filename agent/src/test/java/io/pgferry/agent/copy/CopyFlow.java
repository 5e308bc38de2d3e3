package io.pgferry.agent.copy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgferry.agent.testbed.AgentHandle.Answer;
import io.pgferry.agent.testbed.PgCluster;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A migration driven the way the role drives it with pgferry's own copy: role, archive, publication, database and
 * schema (without keys) as usual, then the copy step instead of a subscription with native table sync.
 */
final class CopyFlow {
    final String migration;
    final String database;
    final PgCluster sourceCluster;
    final AgentApi source;
    AgentApi target;
    final String password;
    final Map<String, Object> scope;
    final Map<String, Object> copyOptions = new LinkedHashMap<>();

    CopyFlow(String migration, String database, PgCluster sourceCluster, AgentApi source, AgentApi target,
             String password, Map<String, Object> scope) {
        this.migration = migration;
        this.database = database;
        this.sourceCluster = sourceCluster;
        this.source = source;
        this.target = target;
        this.password = password;
        this.scope = scope;
    }

    String path(String step) {
        return "/v1/migrations/" + migration + "/" + step;
    }

    Map<String, Object> body(Object... extra) {
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

    Map<String, Object> connection() {
        return Map.of("host", sourceCluster.host(), "port", sourceCluster.port(), "dbname", database, "user",
                "pgferry_" + migration, "password", password);
    }

    /** Everything before the copy: role, archive, publication, database, schema without keys. */
    void prepare(Map<String, Object> publicationExtra) throws Exception {
        ok(source.put(path("replication-role"), scoped("password", password)));
        ok(source.post(path("schema-archive"), scoped()));
        Answer archive = source.get(path("schema-archive"));
        assertEquals(200, archive.status(), "download the archive");
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(archive.raw()));
        JsonNode manifest = ok(source.get(path("schema-archive/manifest")));
        JsonNode db = null;
        for (JsonNode d : ok(source.get("/v1/info")).get("databases")) {
            db = d.get("name").asText().equals(database) ? d : db;
        }
        ok(target.put(path("database"), body("owner", db.get("owner").asText(), "encoding",
                db.get("encoding").asText(), "lc_collate", db.get("collate").asText(), "lc_ctype",
                db.get("ctype").asText())));
        assertTrue(target.putBytes(path("schema-archive"), archive.raw(), sha).status() < 300, "upload the archive");
        assertTrue(target.put(path("schema-archive/manifest"), manifest).status() < 300, "upload the manifest");
        job(target, target.post(path("schema-apply"), body("keys", false)));
        Map<String, Object> pub = scoped();
        pub.putAll(publicationExtra);
        ok(source.put(path("publication"), pub));
    }

    /** Starts the copy job; the answer (202 with the job, or an error). */
    Answer startCopy() throws Exception {
        Map<String, Object> b = body("connection", connection());
        b.putAll(copyOptions);
        return target.post(path("copy"), b);
    }

    JsonNode copy() throws Exception {
        return job(target, startCopy());
    }

    JsonNode copyView() throws Exception {
        return ok(target.get(path("copy") + "?database=" + database));
    }

    /** Until the source's slot has nothing left to send. */
    void awaitCaughtUp() throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofMinutes(2));
        JsonNode status = null;
        while (Instant.now().isBefore(deadline)) {
            status = ok(source.get(path("status") + "?database=" + database));
            if (status.at("/slot/lag_bytes").asLong(-1) == 0) {
                return;
            }
            Thread.sleep(200);
        }
        fail("replication did not catch up within 2 minutes: " + status);
    }

    static JsonNode ok(Answer a) {
        if (a.status() >= 300) {
            fail("HTTP " + a.status() + ": " + a.body());
        }
        return a.body();
    }

    /** Follows a job to its end and returns its result; fails the test unless it succeeded. */
    static JsonNode job(AgentApi agent, Answer started) throws Exception {
        JsonNode job = jobEnd(agent, started);
        assertEquals("succeeded", job.path("state").asText(), "job ended: " + job);
        return job.get("result");
    }

    static JsonNode jobEnd(AgentApi agent, Answer started) throws Exception {
        JsonNode body = ok(started);
        JsonNode job = body.has("job") ? body.get("job") : body;
        Instant deadline = Instant.now().plus(Duration.ofMinutes(5));
        while (job.path("state").asText().equals("running") && Instant.now().isBefore(deadline)) {
            Thread.sleep(200);
            job = ok(agent.get("/v1/jobs/" + URLEncoder.encode(job.get("id").asText(), StandardCharsets.UTF_8)));
        }
        return job;
    }
}
