package io.pgferry.agent.http;

import io.javalin.http.Context;
import io.pgferry.agent.config.Secret;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Set;

/** The one check of the bearer token, run before every request except the public paths. */
final class BearerAuth {
    private static final String PREFIX = "bearer ";

    private final byte[] expectedDigest;
    private final Set<String> publicPaths;

    BearerAuth(Secret token, Set<String> publicPaths) {
        this.expectedDigest = sha256(token.bytes());
        this.publicPaths = publicPaths;
    }

    void check(Context ctx) {
        if (publicPaths.contains(ctx.path())) {
            return;
        }
        String header = ctx.header("Authorization");
        if (header == null || header.length() <= PREFIX.length()
                || !header.regionMatches(true, 0, PREFIX, 0, PREFIX.length())) {
            throw new UnauthorizedException("send the agent's token as Authorization: Bearer <token>");
        }
        byte[] given = sha256(header.substring(PREFIX.length()).trim().getBytes(StandardCharsets.UTF_8));
        // Digests have equal length, so isEqual's time does not depend on the token's length or content.
        if (!MessageDigest.isEqual(expectedDigest, given)) {
            throw new UnauthorizedException("the bearer token is not the agent's token");
        }
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
