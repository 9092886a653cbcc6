package org.densenet4j.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.TinyNets;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The batching predictor under concurrent load: every caller gets its own result (and requests do
 * get batched), a bad input fails only its caller, a model swap drops nothing, and closing under
 * load answers or refuses every request without hanging.
 */
class BatchingPredictorTest {

    private static final BatchingPredictor.Options OPTIONS = new BatchingPredictor.Options(16, 64,
            Duration.ofMillis(20), 2);

    @BeforeAll
    static void oneDnn() {
        assumeTrue(CompiledGraph.available(), "oneDNN natives not loaded on this platform");
    }

    private static ComputationGraph net(long seed) {
        return CompiledGraphTest.randomised(new DenseNetZooModel("tiny", TinyNets.tinyBc().seed(seed).build()).init(),
                seed);
    }

    private static INDArray image(int i) {
        Nd4j.getRandom().setSeed(1000 + i);
        return Nd4j.rand(DataType.FLOAT, 1, 1, 12, 12);
    }

    @Test
    void eachCallerGetsItsOwnResultAndRequestsAreBatched() throws Exception {
        ComputationGraph net = net(1);
        UnaryOperator<INDArray> direct = CompiledGraph.inference(net);
        List<INDArray> images = new ArrayList<>();
        List<INDArray> expected = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            images.add(image(i));
            expected.add(direct.apply(images.get(i)));
        }
        try (BatchingPredictor server = new BatchingPredictor(net, OPTIONS)) {
            ExecutorService clients = Executors.newFixedThreadPool(8);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int client = t;
                done.add(clients.submit(() -> {
                    for (int r = 0; r < 24; r++) {
                        int i = (client * 24 + r) % images.size();
                        assertClose(expected.get(i), server.predict(images.get(i)),
                                "client " + client + " request " + r);
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
            clients.shutdown();
        }
        // Coalescing, without depending on how the threads above were scheduled: a burst of 16
        // requests to one worker that waits long enough for a full batch of 16.
        var oneWorker = new BatchingPredictor.Options(16, 64, Duration.ofSeconds(30), 1);
        try (BatchingPredictor server = new BatchingPredictor(net, oneWorker)) {
            List<java.util.concurrent.CompletableFuture<INDArray>> burst = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                burst.add(server.submit(images.get(i)));
            }
            for (int i = 0; i < 16; i++) {
                assertClose(expected.get(i), burst.get(i).get(60, TimeUnit.SECONDS), "burst request " + i);
            }
            assertEquals(16, server.largestBatch(), "16 queued requests ran as one batch");
            assertEquals(1, server.batches(), "forward passes for a burst of 16");
        }
    }

    /** Waits until {@code counter} reaches {@code atLeast}: progress, however slow the machine. */
    private static void awaitAtLeast(AtomicInteger counter, int atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (counter.get() < atLeast) {
            assertTrue(System.nanoTime() < deadline, "only " + counter.get() + " requests answered in two minutes");
            Thread.sleep(5);
        }
    }

    @Test
    void aBadInputFailsOnlyItsCaller() throws Exception {
        ComputationGraph net = net(2);
        UnaryOperator<INDArray> direct = CompiledGraph.inference(net);
        try (BatchingPredictor server = new BatchingPredictor(net, OPTIONS)) {
            List<java.util.concurrent.CompletableFuture<INDArray>> good = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                good.add(server.submit(image(i)));
            }
            var bad = server.submit(Nd4j.rand(DataType.FLOAT, 1, 3, 12, 12)); // three channels for a grayscale model
            for (int i = 6; i < 12; i++) {
                good.add(server.submit(image(i)));
            }
            var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> bad.get(30, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof IllegalArgumentException, String.valueOf(e.getCause()));
            for (int i = 0; i < 12; i++) {
                assertClose(direct.apply(image(i)), good.get(i).get(30, TimeUnit.SECONDS), "request " + i);
            }
            assertThrows(IllegalArgumentException.class, () -> server.predict(Nd4j.rand(DataType.FLOAT, 12, 12)));
        }
    }

    @Test
    void aModelSwapUnderLoadDropsNothing() throws Exception {
        ComputationGraph before = net(3);
        ComputationGraph after = net(4);
        INDArray x = image(0);
        INDArray fromBefore = CompiledGraph.inference(before).apply(x);
        INDArray fromAfter = CompiledGraph.inference(after).apply(x);
        try (BatchingPredictor server = new BatchingPredictor(before, OPTIONS)) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger answered = new AtomicInteger();
            ExecutorService clients = Executors.newFixedThreadPool(4);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                done.add(clients.submit(() -> {
                    while (!stop.get()) {
                        INDArray y = server.predict(x);
                        assertTrue(close(fromBefore, y) || close(fromAfter, y),
                                "the old model's output or the new one's");
                        answered.incrementAndGet();
                    }
                    return null;
                }));
            }
            awaitAtLeast(answered, 20); // requests are flowing through the old model
            server.swap(after);
            awaitAtLeast(answered, answered.get() + 20); // and through the swap
            stop.set(true);
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS); // no request failed
            }
            clients.shutdown();
            assertTrue(answered.get() > 0);
            assertClose(fromAfter, server.predict(x), "after the swap");
        }
    }

    @Test
    void closingUnderLoadAnswersOrRefusesEveryRequest() throws Exception {
        ComputationGraph net = net(5);
        INDArray x = image(1);
        INDArray expected = CompiledGraph.inference(net).apply(x);
        BatchingPredictor server = new BatchingPredictor(net, OPTIONS);
        AtomicInteger answered = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        ExecutorService clients = Executors.newFixedThreadPool(6);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < 6; t++) {
            done.add(clients.submit(() -> {
                while (true) {
                    try {
                        assertClose(expected, server.predict(x), "a request answered while closing");
                        answered.incrementAndGet();
                    } catch (IllegalStateException e) {
                        assertTrue(e.getMessage().contains("closed"), e.getMessage());
                        refused.incrementAndGet();
                        return null;
                    }
                }
            }));
        }
        awaitAtLeast(answered, 12);
        server.close();
        for (Future<?> f : done) {
            f.get(60, TimeUnit.SECONDS); // every client got an answer or a refusal: none hangs
        }
        clients.shutdown();
        assertTrue(answered.get() > 0, "requests were answered before the close");
        assertEquals(6, refused.get(), "each client was refused once closed");
        assertThrows(IllegalStateException.class, () -> server.predict(x));
        server.close(); // a second close does nothing
    }

    private static boolean close(INDArray a, INDArray b) {
        return a.equalShapes(b) && a.sub(b).amaxNumber().doubleValue() < 1e-5;
    }

    private static void assertClose(INDArray expected, INDArray actual, String what) {
        assertTrue(close(expected, actual), what + ": expected " + expected + ", got " + actual);
    }
}
