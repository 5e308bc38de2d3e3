package io.pgferry.agent.http;

import io.javalin.http.Context;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.problem.BadRequestException;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.EndPoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Request bodies that cannot hold a thread for long. A body is read on a request thread, which blocks while the
 * client sends nothing; Jetty's idle timeout does not help against a client that sends a byte every few seconds,
 * and Jetty 12 does not enforce a minimum data rate. So every body read goes through a watch that closes the
 * connection (failing the blocked read) when no byte arrived for {@link #IDLE}, or when after {@link #GRACE} the
 * body arrives slower than {@link #MIN_BYTES_PER_SECOND} on average. Bodies are also capped while they are read,
 * chunked ones included (a Content-Length check alone would let those through).
 */
public final class RequestBodies {
    private static final Logger LOG = LoggerFactory.getLogger(RequestBodies.class);
    static final Duration IDLE = Duration.ofSeconds(10);
    static final Duration GRACE = Duration.ofSeconds(30);
    /** 64 KiB/s: a 1 MiB JSON body has 30 s, a 256 MiB archive about an hour; local callers send far faster. */
    static final long MIN_BYTES_PER_SECOND = 64 * 1024;

    private static final Map<Watched, EndPoint> WATCHED = new ConcurrentHashMap<>();
    private static final String ATTRIBUTE = RequestBodies.class.getName();
    private static final ScheduledExecutorService WATCH = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "agent-body-watch");
        t.setDaemon(true);
        return t;
    });

    static {
        WATCH.scheduleWithFixedDelay(RequestBodies::sweep, 1, 1, TimeUnit.SECONDS);
    }

    private RequestBodies() {
    }

    /**
     * The whole body, at most {@code limit} bytes.
     *
     * @throws ApiException 413 {@code body_too_large}, 408 {@code body_timeout}
     */
    public static byte[] read(Context ctx, long limit) {
        try (InputStream in = stream(ctx, limit)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        } catch (IOException e) {
            throw timedOutOr(e);
        }
    }

    /**
     * The body as a stream that fails with 413 {@code body_too_large} past {@code limit} bytes and whose reads are
     * watched; close it when done (the watch ends then).
     */
    public static InputStream stream(Context ctx, long limit) {
        String length = ctx.header("Content-Length");
        if (length != null) {
            try {
                if (Long.parseLong(length.trim()) > limit) {
                    throw tooLarge(limit);
                }
            } catch (NumberFormatException e) {
                throw new BadRequestException("Content-Length", "Content-Length must be a number of bytes");
            }
        }
        try {
            Watched w = new Watched(ctx.req().getInputStream(), limit);
            EndPoint endPoint = endPoint(ctx);
            if (endPoint != null) {
                WATCHED.put(w, endPoint);
                ctx.attribute(ATTRIBUTE, w);
            }
            return w;
        } catch (IOException e) {
            throw timedOutOr(e);
        }
    }

    /**
     * Reads and drops a body nobody read, when the request is refused before its body mattered (a missing query
     * parameter, an unknown migration): answered with the body still in flight, the connection is closed on a client
     * that is still sending, and its TCP reset can take the answer with it, so the client sees no answer instead of
     * the problem. Not past the server's request limit, and never for a caller the agent does not know (401) or a body
     * refused for its size or pace (413, 408): those are answered at once and the connection closed.
     */
    static void drainUnread(Context ctx, int status) {
        if (status == 401 || status == 408 || status == 413 || ctx.attribute(ATTRIBUTE) != null) {
            return;
        }
        String length = ctx.header("Content-Length");
        long bytes;
        try {
            bytes = length == null ? 0 : Long.parseLong(length.trim());
        } catch (NumberFormatException e) {
            return;
        }
        if (bytes <= 0 || bytes > AgentServer.MAX_REQUEST_BYTES) {
            return;
        }
        try (InputStream in = stream(ctx, AgentServer.MAX_REQUEST_BYTES)) {
            in.transferTo(OutputStream.nullOutputStream());
        } catch (IOException | RuntimeException e) {
            LOG.debug("{} {}: the unread body could not be dropped ({})", ctx.method(), ctx.path(), e.toString());
        }
    }

    /**
     * Ends the watch of the request's body, read to its end or not, once the request is answered: the connection
     * may serve the next request, and must not be cut for this one's body.
     */
    static void release(Context ctx) {
        Object w = ctx.attribute(ATTRIBUTE);
        if (w != null) {
            WATCHED.remove(w);
        }
    }

    /** An I/O failure while reading a body: the watch cut it (408), or the client went away (400). */
    static ApiException timedOutOr(IOException e) {
        if (e instanceof BodyTimeout t) {
            return new ApiException(408, "body_timeout", "Request Timeout", t.getMessage());
        }
        return new BadRequestException("body", "the request body could not be read to its end; send it again");
    }

    private static ApiException tooLarge(long limit) {
        return new ApiException(413, "body_too_large", "Payload Too Large", "the body is larger than the "
                + (limit >= 1024 * 1024 ? limit / (1024 * 1024) + " MiB" : limit + " bytes") + " this endpoint accepts");
    }

    private static EndPoint endPoint(Context ctx) {
        try {
            return ServletContextRequest.getServletContextRequest(ctx.req()).getConnectionMetaData().getConnection()
                    .getEndPoint();
        } catch (RuntimeException e) {
            return null; // not Jetty's request: nothing to cut, the idle timeout still applies
        }
    }

    private static void sweep() {
        long now = System.nanoTime();
        WATCHED.forEach((w, endPoint) -> {
            String why = w.overdue(now);
            if (why != null && WATCHED.remove(w) != null) {
                w.timedOut = why;
                LOG.warn("closing a connection whose request body {}", why);
                endPoint.close(new BodyTimeout(why));
            }
        });
    }

    /** The watch closed the connection. */
    static final class BodyTimeout extends IOException {
        BodyTimeout(String why) {
            super("the request body " + why + "; send the whole body promptly");
        }
    }

    private static final class Watched extends FilterInputStream {
        private final long limit;
        private final long started = System.nanoTime();
        private volatile long lastByte = started;
        private volatile long total;
        private volatile String timedOut;

        Watched(InputStream in, long limit) {
            super(in);
            this.limit = limit;
        }

        String overdue(long now) {
            if (now - lastByte > IDLE.toNanos()) {
                return "sent nothing for " + IDLE.toSeconds() + " s";
            }
            long elapsed = now - started;
            if (elapsed > GRACE.toNanos() && total * 1_000_000_000.0 / elapsed < MIN_BYTES_PER_SECOND) {
                return "arrived slower than " + MIN_BYTES_PER_SECOND / 1024 + " KiB/s";
            }
            return null;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n;
            try {
                n = super.read(b, off, len);
            } catch (IOException e) {
                throw timedOut != null ? new BodyTimeout(timedOut) : e;
            }
            if (n > 0) {
                total += n;
                lastByte = System.nanoTime();
                if (total > limit) {
                    WATCHED.remove(this);
                    throw tooLarge(limit);
                }
            } else if (n < 0) {
                WATCHED.remove(this);
            }
            return n;
        }

        @Override
        public void close() throws IOException {
            WATCHED.remove(this);
            super.close();
        }
    }
}
