package org.densenet4j.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What the fuzz tests share: the number of cases and the seed (system properties
 * {@code densenet.fuzz.cases}, default 300, and {@code densenet.fuzz.seed}), a bound on each case,
 * the tally of outcomes, and the cases that broke the contract, each kept for replay.
 *
 * <p>The bound is on the CPU time the case's thread spends, so a loaded machine (CI, a parallel
 * build) does not turn a slow case into a failure; a case that makes no progress for
 * {@link #WALL_FACTOR} times the bound in wall time (blocked, not computing) is a hang too.
 *
 * <p>A case that breaks the contract has its input copied to
 * {@code target/fuzz-failures/NAME/case-N.bin}, with a one-line description beside it, and the
 * failure message carries the command that runs that case alone ({@code -Ddensenet.fuzz.case=N}).
 */
public final class Fuzz implements AutoCloseable {

    /** Cases per fuzz test. */
    public static final int CASES = Integer.getInteger("densenet.fuzz.cases", 300);
    /** Seed of every fuzz test. */
    public static final long SEED = Long.getLong("densenet.fuzz.seed", 20261122L);
    /** The only case to run, or -1 for all ({@code -Ddensenet.fuzz.case=N}). */
    public static final int ONLY = Integer.getInteger("densenet.fuzz.case", -1);
    /** The outcome of a case that did not finish within the bound. */
    public static final String HANG = "HANG";
    /** How many times the CPU bound a case may take in wall time before it counts as blocked. */
    public static final int WALL_FACTOR = 12;

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final String name;
    private final String module;
    private final Class<?> test;
    private final long boundNanos;
    private final Set<String> acceptable;
    private final Map<String, Integer> counts = new TreeMap<>();
    private final List<String> broken = new ArrayList<>();
    private ExecutorService worker;
    private volatile Thread workerThread;
    private int index = -1;
    private long slowestCpu;
    private long slowestWall;
    private String slowest = "none";

    /**
     * A fuzz run of the test class {@code test} in Maven module {@code module} whose cases may end
     * in any of {@code acceptable} outcomes, each within {@code boundSeconds} of CPU time.
     */
    public Fuzz(String name, String module, Class<?> test, long boundSeconds, Set<String> acceptable) {
        this.name = name;
        this.module = module;
        this.test = test;
        this.boundNanos = TimeUnit.SECONDS.toNanos(boundSeconds);
        this.acceptable = acceptable;
        this.worker = newWorker();
    }

    /** Whether only one case runs ({@code -Ddensenet.fuzz.case}): totals over all cases do not apply. */
    public static boolean single() {
        return ONLY >= 0;
    }

    /**
     * Runs the next case on a worker thread, bounded in time, and records its outcome under
     * {@code group}. A case returns its outcome, optionally followed by a space and a detail.
     * {@code input} is the file the case reads, kept under {@code target/} when the case breaks the
     * contract (null when there is none). With {@code -Ddensenet.fuzz.case=N} every case but the
     * N-th is skipped.
     */
    public void run(String group, Path input, Callable<String> body) throws InterruptedException {
        index++;
        if (single() && index != ONLY) {
            return;
        }
        Future<String> result = worker.submit(() -> {
            try {
                return body.call();
            } catch (Throwable e) {
                return "CRASHED " + e;
            }
        });
        long wallStart = System.nanoTime();
        long cpuStart = cpuOfWorker(0);
        String outcome = null;
        long cpu = 0;
        while (outcome == null) {
            try {
                outcome = result.get(100, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                cpu = cpuOfWorker(cpuStart);
                long wall = System.nanoTime() - wallStart;
                if (cpu > boundNanos || wall > WALL_FACTOR * boundNanos) {
                    result.cancel(true);
                    worker.shutdownNow();
                    worker = newWorker(); // the stuck thread is a daemon and is abandoned
                    outcome = HANG + " after " + millis(cpu) + " ms of CPU, " + millis(wall) + " ms of wall time";
                }
            } catch (ExecutionException e) {
                outcome = "CRASHED " + e.getCause();
            }
        }
        if (!outcome.startsWith(HANG)) {
            cpu = cpuOfWorker(cpuStart);
        }
        long wall = System.nanoTime() - wallStart;
        if (cpu > slowestCpu) {
            slowestCpu = cpu;
            slowestWall = wall;
            slowest = "case " + index + " (" + group + ")";
        }
        String kind = outcome.split(" ", 2)[0];
        counts.merge(group + ": " + kind, 1, Integer::sum);
        if (!acceptable.contains(kind)) {
            broken.add(group + " -> " + outcome + "\n    " + keep(group, outcome, input));
        }
    }

    /** Counts of each outcome by group. */
    public Map<String, Integer> counts() {
        return counts;
    }

    /** The cases whose outcome was not acceptable, with their details and how to replay them. */
    public List<String> broken() {
        return broken;
    }

    /** A report: totals by outcome and the slowest case, then counts by group. */
    public String report() {
        Map<String, Integer> totals = new TreeMap<>();
        counts.forEach((k, v) -> totals.merge(k.substring(k.lastIndexOf(": ") + 2), v, Integer::sum));
        return name + ", " + (single() ? "case " + ONLY + " of " : "") + CASES + " cases, seed " + SEED + ": "
                + totals + "; slowest " + slowest + ": " + millis(slowestCpu) + " ms CPU, "
                + millis(slowestWall) + " ms wall (bound " + millis(boundNanos) + " ms CPU)"
                + "\n  by mutation: " + counts;
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }

    /** Copies the case's input and a description under target/ and says how to replay the case. */
    private String keep(String group, String outcome, Path input) {
        Path dir = Path.of("target", "fuzz-failures", name.toLowerCase().replaceAll("[^a-z0-9]+", "-"));
        String replay = "replay alone: mvn -B test -pl " + module + " -Dtest=" + test.getSimpleName()
                + " -Ddensenet.fuzz.case=" + index + (SEED != 20261122L ? " -Ddensenet.fuzz.seed=" + SEED : "")
                + (CASES != 300 ? " -Ddensenet.fuzz.cases=" + CASES : "");
        try {
            Files.createDirectories(dir);
            String kept = "";
            if (input != null && Files.isRegularFile(input)) {
                Path copy = dir.resolve("case-" + index + ".bin");
                Files.copy(input, copy, StandardCopyOption.REPLACE_EXISTING);
                kept = "input kept in " + copy.toAbsolutePath() + "; ";
            }
            Files.writeString(dir.resolve("case-" + index + ".txt"), "case " + index + ", seed " + SEED + ", "
                    + group + ": " + outcome.replace('\n', ' ') + "\n", StandardCharsets.UTF_8);
            return kept + replay;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep fuzz case " + index + " under " + dir, e);
        }
    }

    private long cpuOfWorker(long since) {
        Thread t = workerThread;
        long now = t == null ? 0 : THREADS.getThreadCpuTime(t.getId());
        return now < 0 ? 0 : Math.max(0, now - since);
    }

    private static long millis(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    private ExecutorService newWorker() {
        workerThread = null;
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-case");
            t.setDaemon(true);
            workerThread = t;
            return t;
        });
    }
}
