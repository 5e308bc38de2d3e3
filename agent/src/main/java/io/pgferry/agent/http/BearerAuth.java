package io.pgferry.agent.http;

import io.javalin.http.Context;
import io.pgferry.agent.config.Secret;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The one check of the bearer token, run before every request ({@link RouteAccess}). A public route needs none, but
 * answers more to a caller who sends the right one ({@link #authenticated}).
 */
public final class BearerAuth {
    private static final String PREFIX = "bearer ";
    private static final String AUTHENTICATED = BearerAuth.class.getName() + ".authenticated";

    private final byte[] expectedDigest;

    BearerAuth(Secret token) {
        this.expectedDigest = sha256(token.bytes());
    }

    /** Whether this request carried the agent's token (always true past the check on a non-public path). */
    public static boolean authenticated(Context ctx) {
        return Boolean.TRUE.equals(ctx.attribute(AUTHENTICATED));
    }

    /** Notes whether the request carries the token; without it, 401 unless {@code required} is false. */
    void check(Context ctx, boolean required) {
        String header = ctx.header("Authorization");
        boolean scheme = header != null && header.length() > PREFIX.length()
                && header.regionMatches(true, 0, PREFIX, 0, PREFIX.length());
        // Digests have equal length, so isEqual's time does not depend on the token's length or content.
        boolean valid = scheme && MessageDigest.isEqual(expectedDigest,
                sha256(header.substring(PREFIX.length()).trim().getBytes(StandardCharsets.UTF_8)));
        ctx.attribute(AUTHENTICATED, valid);
        if (valid || !required) {
            return;
        }
        throw new UnauthorizedException(scheme ? "the bearer token is not the agent's token"
                : "send the agent's token as Authorization: Bearer <token>");
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
