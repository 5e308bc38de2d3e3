package io.pgferry.agent.http;

import io.javalin.Javalin;
import io.javalin.json.JavalinJackson;
import io.pgferry.agent.config.AgentConfig;
import io.pgferry.agent.json.Json;
import java.util.List;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/** The HTTP API, configured completely here before it starts: routes, auth, error mapping, limits, logging. */
public final class AgentServer {
    static final long MAX_REQUEST_BYTES = 1024 * 1024;
    /** Read once by Jetty's MemoryUtils (a 64-byte cache line over 4-byte references). */
    static final String REFERENCES_PER_CACHE_LINE = "org.eclipse.jetty.util.referencesPerCacheLine";

    private final Javalin app;

    private AgentServer(Javalin app) {
        this.app = app;
    }

    /**
     * @param routes every route the agent serves, each declaring its {@link Access}
     * @param observer told of every answered request with its time (metrics); must not throw
     */
    public static AgentServer start(AgentConfig config, List<RouteGroup> routes, RequestObserver observer) {
        RouteAccess access = new RouteAccess(config.token());
        // Without it Jetty asks the JMX platform server whether oops are compressed: some 150 JMX classes and their
        // MBeans (about 3 MiB resident) for a padding size. Compressed (4-byte) oops under the agent's heap cap.
        System.getProperties().putIfAbsent(REFERENCES_PER_CACHE_LINE, "16");
        Javalin app = Javalin.create(c -> {
            c.startup.showJavalinBanner = false;
            c.startup.showOldJavalinVersionWarning = false;
            c.http.maxRequestSize = MAX_REQUEST_BYTES;
            c.http.generateEtags = false;
            c.http.prefer405over404 = true;
            c.jetty.host = config.listenAddress();
            c.jetty.port = config.listenPort();
            // A handful of local callers: a small pool keeps the agent's footprint small. RequestSlots keeps the
            // token-protected routes to a third of it, so health and 401s always find a thread.
            QueuedThreadPool pool = new QueuedThreadPool(3 * RequestSlots.SLOTS, 2);
            pool.setName("agent-http");
            c.jetty.threadPool = pool;
            config.tls().ifPresent(tls -> c.jetty.addConnector((server, http) -> Tls.connector(server, http, tls,
                    config.listenAddress(), config.listenPort())));
            c.jetty.modifyServer(server -> server.setErrorHandler(new ProblemErrorHandler()));
            c.jetty.modifyServletContextHandler(context -> context.setErrorHandler(new ProblemErrorHandler()));
            c.jsonMapper(new JavalinJackson(Json.MAPPER, false));
            c.requestLogger.http((ctx, millis) -> {
                RequestLog.log(ctx, millis);
                observer.answered(ctx, millis);
            });
            c.routes.before(access::before);
            c.routes.after(access::after);
            c.routes.after(RequestBodies::release);
            new LeaseController(access.leases()).register(c.routes);
            routes.forEach(group -> group.register(c.routes));
            ProblemMapper.register(c.routes);
        });
        access.routes(app.unsafe.internalRouter.allHttpHandlers());
        app.start();
        return new AgentServer(app);
    }

    /** Every registered route as "METHOD path", e.g. "PUT /v1/migrations/{m}/publication"; for tests and docs. */
    public List<String> routes() {
        return app.unsafe.internalRouter.allHttpHandlers().stream()
                .map(e -> e.endpoint.method.name() + " " + e.endpoint.path)
                .filter(r -> !r.startsWith("HEAD ") && !r.startsWith("OPTIONS "))
                .sorted().distinct().toList();
    }

    /** The port actually listened on (config port 0 means any free one). */
    public int port() {
        return app.port();
    }

    public void stop() {
        app.stop();
    }
}
