package io.pgferry.agent.postgres;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.NoSuchElementException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.apache.commons.pool2.BaseKeyedPooledObjectFactory;
import org.apache.commons.pool2.PooledObject;
import org.apache.commons.pool2.impl.DefaultPooledObject;
import org.apache.commons.pool2.impl.GenericKeyedObjectPool;
import org.apache.commons.pool2.impl.GenericKeyedObjectPoolConfig;

/**
 * The agent's sessions, kept for a moment after use and handed to the next request on the same database. A login
 * costs the agent 11 ms of CPU over TCP with a password (SCRAM's key derivation, in the agent's C1-only JVM) and the
 * server a backend; a cutover's pause makes about ten of them one after another. Kept {@link #KEEP} at most, so an
 * idle agent holds no session, and {@link #IN_ALL} at most idle at once (past it the one idle longest is ended, not
 * the one given back: a step's next request is likeliest on the same database); checked with a round trip before
 * reuse, so a session the server ended is never handed out; and reset on return ({@code DISCARD ALL}: settings,
 * role, prepared statements, temporary tables), so nothing one request set reaches the next. A statement that changes what a new
 * session would start with (a database's or role's settings: the fence, the privileges) must be followed by
 * {@link #clear()}, which ends the idle sessions and every session in use at the time when it is given back, the one
 * that ran the statement included.
 *
 * <p>Sessions taken to set their read-only default themselves ({@code ownReadOnlyDefault}) are kept apart: the fence
 * changes only the database's read-only default, which they never go by, so {@link #clearReadOnlyDefault()} (the
 * fence's, and the unfence's) leaves them, and the cutover's pause reuses them instead of logging in anew.
 */
final class IdleSessions {
    static final Duration KEEP = Duration.ofSeconds(2);
    static final int PER_DATABASE = 2;
    /**
     * Over every database: an agent beside a shared instance of a fleet serves many databases at once, and the
     * connections it keeps idle are connections the applications cannot have.
     */
    static final int IN_ALL = 4;
    private static final int VALIDATION_SECONDS = 2;

    /** The pool's key: sessions that set their read-only default themselves are kept apart from the others. */
    private record Key(String database, boolean ownReadOnlyDefault) {
    }

    private final GenericKeyedObjectPool<Key, Connection> pool;
    /** Raised by clear(): a session that sets its read-only default, taken before, is ended when given back. */
    private final AtomicInteger generation = new AtomicInteger();
    /** Raised by clear() and clearReadOnlyDefault(): the same, for sessions that go by the database's defaults. */
    private final AtomicInteger defaultsGeneration = new AtomicInteger();

    IdleSessions(Function<String, Connection> login) {
        GenericKeyedObjectPoolConfig<Connection> config = new GenericKeyedObjectPoolConfig<>();
        config.setMaxTotalPerKey(-1);
        config.setMaxTotal(-1);
        config.setMaxIdlePerKey(PER_DATABASE);
        config.setBlockWhenExhausted(false);
        config.setTestOnBorrow(true);
        config.setLifo(true);
        config.setMinEvictableIdleDuration(KEEP);
        config.setTimeBetweenEvictionRuns(Duration.ofSeconds(1));
        config.setNumTestsPerEvictionRun(Integer.MAX_VALUE);
        config.setJmxEnabled(false);
        this.pool = new GenericKeyedObjectPool<>(new Factory(login), config);
    }

    /**
     * A session on the database: an idle one that still answers, or a new login. Closing it gives it back.
     *
     * @param ownReadOnlyDefault the caller sets default_transaction_read_only itself: see the class comment
     * @throws PostgresUnavailableException from the login
     */
    Connection take(String database, boolean ownReadOnlyDefault) {
        Key key = new Key(database, ownReadOnlyDefault);
        // clear() raises both counters: a session that goes by the defaults watches the one both raise.
        AtomicInteger watched = ownReadOnlyDefault ? generation : defaultsGeneration;
        int taken = watched.get();
        Connection raw;
        try {
            raw = pool.borrowObject(key);
        } catch (NoSuchElementException e) {
            // A new login that failed its own validation: the server ended it at once.
            throw new PostgresUnavailableException("a new session on database " + database + " was ended at once", e);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("idle sessions: " + e.getClass().getSimpleName(), e);
        }
        return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class},
                new Lent(key, raw, watched, taken));
    }

    /** Ends every idle session, and every one in use once it is given back: what a new session starts with changed. */
    void clear() {
        generation.incrementAndGet();
        defaultsGeneration.incrementAndGet();
        pool.clear();
    }

    /** As {@link #clear()} after a change of a database's read-only default only: sessions that set theirs stay. */
    void clearReadOnlyDefault() {
        defaultsGeneration.incrementAndGet();
        for (Key key : pool.getKeys()) {
            if (!key.ownReadOnlyDefault()) {
                pool.clear(key);
            }
        }
    }

    int idle() {
        return pool.getNumIdle();
    }

    private void giveBack(Key key, Connection raw) {
        try {
            pool.returnObject(key, raw);
        } catch (RuntimeException e) {
            closeQuietly(raw);
        }
    }

    private void discard(Key key, Connection raw) {
        try {
            pool.invalidateObject(key, raw);
        } catch (Exception e) {
            closeQuietly(raw);
        }
    }

    private static void closeQuietly(Connection raw) {
        try {
            raw.close();
        } catch (SQLException ignored) {
            // already broken
        }
    }

    /** The caller's view: every call goes to the session until close(), which gives it back once. */
    private final class Lent implements java.lang.reflect.InvocationHandler {
        private final Key key;
        private final Connection raw;
        private final AtomicInteger generation;
        private final int generationTaken;
        private boolean closed;

        Lent(Key key, Connection raw, AtomicInteger generation, int generationTaken) {
            this.key = key;
            this.raw = raw;
            this.generation = generation;
            this.generationTaken = generationTaken;
        }

        @Override
        public Object invoke(Object proxy, java.lang.reflect.Method method, Object[] args) throws Throwable {
            switch (method.getName()) {
                case "close" -> {
                    if (!closed) {
                        closed = true;
                        if (raw.isClosed() || generationTaken != generation.get()) {
                            discard(key, raw);
                        } else {
                            if (pool.getNumIdle() >= IN_ALL && pool.getNumIdle(key) < PER_DATABASE) {
                                // The session given back is the likeliest to be asked for next (the cutover's steps
                                // come in runs on one database): the one idle longest goes instead.
                                pool.clearOldest();
                            }
                            giveBack(key, raw);
                        }
                    }
                    return null;
                }
                case "isClosed" -> {
                    return closed || raw.isClosed();
                }
                case "equals" -> {
                    return proxy == args[0];
                }
                case "hashCode" -> {
                    return System.identityHashCode(proxy);
                }
                case "toString" -> {
                    return "session on " + key.database() + (closed ? " (given back)" : "");
                }
                default -> {
                    if (closed) {
                        throw new SQLException("this connection was closed (given back to the agent's idle sessions)",
                                "08003");
                    }
                    try {
                        return method.invoke(raw, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                }
            }
        }
    }

    private static final class Factory extends BaseKeyedPooledObjectFactory<Key, Connection> {
        private final Function<String, Connection> login;

        Factory(Function<String, Connection> login) {
            this.login = login;
        }

        @Override
        public Connection create(Key key) {
            return login.apply(key.database());
        }

        @Override
        public PooledObject<Connection> wrap(Connection c) {
            return new DefaultPooledObject<>(c);
        }

        @Override
        public boolean validateObject(Key key, PooledObject<Connection> p) {
            try {
                return p.getObject().isValid(VALIDATION_SECONDS);
            } catch (SQLException e) {
                return false;
            }
        }

        /** Back to what a new login would be; a session that cannot be is destroyed instead. */
        @Override
        public void passivateObject(Key key, PooledObject<Connection> p) throws SQLException {
            Connection c = p.getObject();
            if (!c.getAutoCommit()) {
                c.rollback();
                c.setAutoCommit(true);
            }
            try (Statement st = c.createStatement()) {
                st.execute("DISCARD ALL");
            }
            c.clearWarnings();
        }

        @Override
        public void destroyObject(Key key, PooledObject<Connection> p) throws SQLException {
            p.getObject().close();
        }
    }
}
