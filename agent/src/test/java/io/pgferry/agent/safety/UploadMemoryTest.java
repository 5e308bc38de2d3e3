package io.pgferry.agent.safety;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgferry.agent.testbed.AgentProcess;
import io.pgferry.agent.testbed.AskFirst;
import io.pgferry.agent.testbed.PgBed;
import io.pgferry.agent.testbed.PgCluster;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Uploads cannot exhaust the agent's memory: a real agent process with a 64 MiB heap (and
 * -XX:+ExitOnOutOfMemoryError, as the unit runs it) takes a 40 MiB manifest and a 40 MiB JSON body, answers each
 * with a clear 4xx (the JSON body, over its limit, is refused on its Content-Length before it is sent), and stays up
 * with its resident memory about where it was.
 */
@PgBed(major = 16)
class UploadMemoryTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static PgCluster cluster;

    @Test
    void aFortyMibManifestAndJsonBodyAreRefusedInBoundedMemory(@TempDir Path dir) throws Exception {
        try (AgentProcess agent = AgentProcess.start(cluster, dir.resolve("agent"), "077", "64m")) {
            long before = agent.rssKib();
            byte[] manifest = manifestLookalike(40 * 1024 * 1024);
            for (int round = 0; round < 3; round++) {
                HttpResponse<byte[]> r = agent.send("PUT", "/v1/migrations/big/schema-archive/manifest", manifest,
                        "application/json");
                assertEquals(422, r.statusCode(), () -> new String(r.body(), StandardCharsets.UTF_8) + agent.log());
                assertEquals("manifest_unsigned", JSON.readTree(r.body()).get("code").asText());
                // Refused on its Content-Length, unread: asked first, so the answer is not lost to a reset.
                AskFirst.Answer json = AskFirst.send(agent.base(), agent.token(), "PUT",
                        "/v1/migrations/big/publication", manifest, "application/json");
                assertEquals(413, json.status(), json::text);
                assertEquals("body_too_large", JSON.readTree(json.body()).get("code").asText());
            }
            long after = agent.rssKib();
            System.out.printf("upload memory: RSS %d MiB before, %d MiB after 3 x (40 MiB manifest + 40 MiB JSON)%n",
                    before / 1024, after / 1024);
            assertTrue(agent.alive() && agent.healthy(), "the agent is up: " + agent.log());
            assertTrue(after - before < 64 * 1024, "RSS grew from " + before + " to " + after + " KiB");
        }
    }

    /** A manifest-shaped JSON document of {@code size} bytes: many entries, as an attacker would make one. */
    static byte[] manifestLookalike(int size) {
        StringBuilder sb = new StringBuilder(size + 1024).append("{\"format\":1,\"migration\":\"big\",\"entries\":[");
        String entry = "{\"id\":1,\"section\":\"pre-data\",\"desc\":\"TABLE\",\"names\":[\"a\",\"b\"],\"toc_text\":\""
                + "z".repeat(100) + "\"},";
        while (sb.length() < size) {
            sb.append(entry);
        }
        sb.setLength(sb.length() - 1);
        return sb.append("]}").toString().getBytes(StandardCharsets.UTF_8);
    }
}
