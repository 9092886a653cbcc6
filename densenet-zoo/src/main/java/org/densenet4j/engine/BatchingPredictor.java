package org.densenet4j.engine;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.UnaryOperator;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Serves one model to many threads by coalescing their requests into batches, as DL4J's
 * {@code ParallelInference} does in its BATCHED mode: a request waits in a bounded queue; a worker
 * takes it and the requests behind it of the same shape, up to {@code maxBatch} examples or until
 * {@code maxWait} has passed since the first, runs them as one batch on its compiled replica and
 * gives each caller its own rows. Where {@link ConcurrentPredictor} runs one request per replica,
 * this runs many per forward pass, which is what a CPU does best at small batches.
 *
 * <pre>{@code
 * try (BatchingPredictor server = new BatchingPredictor(net, BatchingPredictor.Options.defaults())) {
 *     INDArray p = server.predict(image);              // from any thread: [1, C, H, W] in, [1, classes] out
 *     server.swap(retrained);                          // later: no request is dropped
 * }
 * }</pre>
 *
 * <p>A request that fails (an input the model cannot take) fails only its caller: a batch that
 * fails is run again one request at a time. {@link #swap} replaces the model without dropping a
 * request (each worker moves to the new replicas between batches). {@link #close} refuses new
 * requests, answers the queued ones, stops the workers and releases every replica.
 */
public final class BatchingPredictor implements AutoCloseable {

    /**
     * How requests are coalesced.
     *
     * @param maxBatch   the most examples in one forward pass
     * @param queueLimit the most requests waiting; a caller beyond it waits for room
     * @param maxWait    how long a worker waits for more requests after the first of a batch
     * @param workers    forward passes that run at once (each on its own replica)
     */
    public record Options(int maxBatch, int queueLimit, Duration maxWait, int workers) {

        /** Checks the values. */
        public Options {
            if (maxBatch < 1 || queueLimit < 1 || workers < 1 || maxWait.isNegative()) {
                throw new
                        IllegalArgumentException("maxBatch, queueLimit and workers must be >= 1 and maxWait >= 0, were "
                        + maxBatch + ", " + queueLimit + ", " + workers + ", " + maxWait);
            }
        }

        /** Batches of up to 32, 1,024 requests queued, 2 ms of waiting, one worker. */
        public static Options defaults() {
            return new Options(32, 1024, Duration.ofMillis(2), 1);
        }
    }

    /** A caller's input and the promise of its output. */
    private record Request(INDArray input, CompletableFuture<INDArray> result) {
        long examples() {
            return input.size(0);
        }

        boolean fits(Request other) {
            return Arrays.equals(Arrays.copyOfRange(input.shape(), 1, 4), Arrays.copyOfRange(other.input.shape(), 1,
                    4));
        }
    }

    /** The replicas of one model, one per worker, and how to release them. */
    private record Generation(List<UnaryOperator<INDArray>> replicas, List<CompiledGraph> compiled) {
        static Generation of(ComputationGraph model, int workers, EngineOptions engine) {
            List<UnaryOperator<INDArray>> replicas = new ArrayList<>();
            List<CompiledGraph> compiled = new ArrayList<>();
            for (int i = 0; i < workers; i++) {
                var c = CompiledGraph.tryCompile(model, engine);
                if (c.isPresent()) {
                    compiled.add(c.get());
                    replicas.add(c.get()::outputSingle);
                } else {
                    ComputationGraph copy = i == 0 ? model : model.clone(); // DL4J's graph runs one pass at a time
                    replicas.add(x -> copy.outputSingle(false, x).detach());
                }
            }
            return new Generation(List.copyOf(replicas), compiled);
        }

        void close() {
            compiled.forEach(CompiledGraph::close);
        }
    }

    private final Options options;
    private final EngineOptions engine;
    private final ArrayBlockingQueue<Request> queue;
    private final List<Thread> workers = new ArrayList<>();
    /** Submissions hold the read lock; closing takes the write lock, so no request arrives after the workers stop. */
    private final ReadWriteLock admission = new ReentrantReadWriteLock();
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong largest = new AtomicLong();
    private volatile Generation current;
    /** Every generation made, for close() to release what the workers have not. */
    private final List<Generation> made = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile boolean closed;

    /** A server of {@code model} coalescing requests as {@code options} say; its workers start at once. */
    public BatchingPredictor(ComputationGraph model, Options options) {
        this(model, options, EngineOptions.fromSystemProperties());
    }

    /**
     * As {@link #BatchingPredictor(ComputationGraph, Options)}, each replica compiled as {@code engine}
     * says (in bf16, say); {@link #swap} compiles the same way.
     */
    public BatchingPredictor(ComputationGraph model, Options options, EngineOptions engine) {
        this.options = options;
        this.engine = engine;
        this.queue = new ArrayBlockingQueue<>(options.queueLimit());
        this.current = Generation.of(model, options.workers(), engine);
        made.add(current);
        for (int i = 0; i < options.workers(); i++) {
            int index = i;
            Thread t = new Thread(() -> work(index), "densenet4j-batching-" + i);
            t.setDaemon(true);
            workers.add(t);
            t.start();
        }
    }

    /**
     * The model's output for {@code input} ([N, C, H, W], usually one image), from any thread.
     *
     * @throws IllegalArgumentException when the model cannot take the input (this caller's alone)
     * @throws IllegalStateException    when the server is closed
     */
    public INDArray predict(INDArray input) {
        try {
            return submit(input).join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    /** As {@link #predict}, without waiting: the output when its batch has run. */
    public CompletableFuture<INDArray> submit(INDArray input) {
        if (input.rank() != 4 || input.size(0) < 1) {
            throw new IllegalArgumentException("a request is [N, C, H, W] with N >= 1, got "
                    + Arrays.toString(input.shape()));
        }
        Request r = new Request(input, new CompletableFuture<>());
        admission.readLock().lock();
        try {
            if (closed) {
                throw new IllegalStateException("the predictor is closed");
            }
            queue.put(r);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for room in the queue", e);
        } finally {
            admission.readLock().unlock();
        }
        return r.result();
    }

    /**
     * Serves {@code model} from now on: its replicas are made first, then each worker moves to them
     * between two batches (a batch already running finishes on the old model) and releases its old
     * one. No request is dropped or fails because of the swap.
     */
    public synchronized void swap(ComputationGraph model) {
        if (closed) {
            throw new IllegalStateException("the predictor is closed");
        }
        Generation next = Generation.of(model, options.workers(), engine);
        made.add(next);
        current = next;
    }

    /** Forward passes run so far. */
    public long batches() {
        return batches.get();
    }

    /** The most examples run in one forward pass so far. */
    public long largestBatch() {
        return largest.get();
    }

    /** Refuses new requests, answers the queued ones, stops the workers and releases every replica. */
    @Override
    public void close() {
        admission.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
        } finally {
            admission.writeLock().unlock();
        }
        for (Thread t : workers) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (Request r; (r = queue.poll()) != null; ) {
            r.result().completeExceptionally(new IllegalStateException("the predictor was closed"));
        }
        made.forEach(Generation::close);
    }

    /** Worker {@code index}: batches from the queue until the server is closed and the queue empty. */
    private void work(int index) {
        Generation mine = current;
        Request carry = null;
        while (true) {
            Request first = carry != null ? carry : poll(Duration.ofMillis(50));
            carry = null;
            if (first == null) {
                if (closed && queue.isEmpty()) {
                    break;
                }
                continue;
            }
            List<Request> batch = new ArrayList<>(List.of(first));
            long examples = first.examples();
            long deadline = System.nanoTime() + options.maxWait().toNanos();
            while (examples < options.maxBatch()) {
                Request next = poll(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
                if (next == null) {
                    break;
                }
                if (!next.fits(first) || examples + next.examples() > options.maxBatch()) {
                    carry = next; // it starts the next batch
                    break;
                }
                batch.add(next);
                examples += next.examples();
            }
            Generation latest = current;
            if (latest != mine) {
                Generation old = mine;
                mine = latest;
                old.compiled().stream().skip(index).limit(1).forEach(CompiledGraph::close); // this worker's own
            }
            run(mine.replicas().get(index), batch, examples);
        }
    }

    private Request poll(Duration wait) {
        try {
            return queue.poll(wait.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /**
     * One forward pass for the batch, each caller answered with its rows; a failed batch is retried request by request.
     */
    private void run(UnaryOperator<INDArray> replica, List<Request> batch, long examples) {
        batches.incrementAndGet();
        largest.accumulateAndGet(examples, Math::max);
        if (batch.size() == 1) {
            answer(replica, batch.get(0));
            return;
        }
        INDArray out;
        try {
            out = replica.apply(Nd4j.concat(0, batch.stream().map(Request::input).toArray(INDArray[]::new)));
        } catch (RuntimeException e) {
            batch.forEach(r -> answer(replica, r)); // only the request at fault fails
            return;
        }
        long from = 0;
        for (Request r : batch) {
            long to = from + r.examples();
            r.result().complete(out.get(NDArrayIndex.interval(from, to)).dup());
            from = to;
        }
    }

    private static void answer(UnaryOperator<INDArray> replica, Request r) {
        try {
            r.result().complete(replica.apply(r.input()));
        } catch (RuntimeException e) {
            r.result().completeExceptionally(e);
        }
    }
}
