package org.densenet4j.engine;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;
import org.bytedeco.javacpp.FloatPointer;
import org.deeplearning4j.nn.api.Trainable;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.BaseMultiLayerUpdater;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.densenet4j.onednn.HostArrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.learning.regularization.L1Regularization;
import org.nd4j.linalg.learning.regularization.L2Regularization;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;

/**
 * DL4J's parameter update, its updater followed by {@code params -= update}, as one pass over the
 * graph's flattened parameters, gradients and updater state, in place of the several hundred small
 * ND4J operations DL4J runs per step (division by the batch, each parameter's regularisation, each
 * block's updater; 100-200 ms of an 800 ms DenseNet-121 step on two cores). Element by element it
 * computes what DL4J computes, in the same order and in float: the gradient divided by the batch
 * where the layer asks for it, L1/L2 added, the block's rule (SGD, Nesterov momentum, Adam, none),
 * weight decay added, the result subtracted from the parameter. The updater state stays in DL4J's
 * own state array, laid out as DL4J lays it out, so a saved model resumes either way.
 *
 * <p>It also gives the regularisation score of the parameters it read (what
 * {@code calcRegularizationScore(true)} returns before the update), at no extra pass. What it does
 * not cover (other updaters or regularisations, gradient normalisation, pretraining parameters,
 * non-float parameters) makes {@link #of} empty, and the trainer calls DL4J's updater.
 */
final class ParameterUpdate {

    /** Elements per unit of parallel work: large enough to amortise scheduling, small enough to balance. */
    private static final int CHUNK = 1 << 15;

    private enum Rule { SGD, NESTEROVS, ADAM, NONE }

    /** An updater block: its rule and configuration, and its state as DL4J lays it out (Adam: m, then v). */
    private record Block(Rule rule, IUpdater config, FloatBuffer state, int length) {
    }

    /** One parameter: its block, where it lies in the flattened arrays, and what applies to it. */
    private record Segment(int block, int offset, int length, int blockOffset, boolean divide,
                           List<Regularization> regularizations) {
    }

    /** A run of one segment's elements, the unit of parallel work. */
    private record Work(int segment, int from, int to) {
    }

    /** One step's coefficients of a segment. */
    private record Coefficients(Rule rule, float lr, float momentum, float beta1, float beta2, float epsilon,
                                float adamStep, float divisor, float l1, float l2, float decay,
                                double l1Score, double l2Score) {
    }

    private final BaseMultiLayerUpdater<?> updater;
    private final INDArray params;
    private final INDArray gradients;
    private final FloatBuffer p;
    private final FloatBuffer g;
    private final List<Block> blocks;
    private final List<Segment> segments;
    private final List<Work> work;
    private final boolean miniBatch;

    private ParameterUpdate(ComputationGraph graph, List<Block> blocks, List<Segment> segments) {
        this.updater = graph.getUpdater();
        this.params = graph.params();
        this.gradients = graph.getFlattenedGradients();
        this.p = floats(params, params.length());
        this.g = floats(gradients, gradients.length());
        this.blocks = blocks;
        this.segments = segments;
        this.miniBatch = graph.getConfiguration().getDefaultConfiguration().isMiniBatch();
        List<Work> w = new ArrayList<>();
        for (int s = 0; s < segments.size(); s++) {
            Segment seg = segments.get(s);
            for (int from = 0; from < seg.length(); from += CHUNK) {
                w.add(new Work(s, from, Math.min(seg.length(), from + CHUNK)));
            }
        }
        this.work = w;
    }

    /** The fused update of {@code graph}'s updater, or empty (with DL4J's updater to use) where it does not apply. */
    static Optional<ParameterUpdate> of(ComputationGraph graph) {
        BaseMultiLayerUpdater<?> updater = graph.getUpdater();
        if (updater == null || graph.params().dataType() != DataType.FLOAT
                || graph.getFlattenedGradients().dataType() != DataType.FLOAT
                || !HostArrays.denseRowMajor(graph.params())
                || !HostArrays.denseRowMajor(graph.getFlattenedGradients())) {
            return Optional.empty();
        }
        List<Block> blocks = new ArrayList<>();
        List<Segment> segments = new ArrayList<>();
        for (UpdaterBlock b : updater.getUpdaterBlocks()) {
            Trainable first = b.getLayersAndVariablesInBlock().get(0).getLayer();
            if (b.isPretrainUpdaterBlock()) {
                return Optional.empty();
            }
            if (first.numParams() == 0) {
                continue;
            }
            IUpdater config = b.getGradientUpdater().getConfig();
            Rule rule = config instanceof Nesterovs ? Rule.NESTEROVS : config instanceof Sgd ? Rule.SGD
                    : config instanceof Adam ? Rule.ADAM : config instanceof NoOp ? Rule.NONE : null;
            if (rule == null) {
                return Optional.empty();
            }
            int length = b.getParamOffsetEnd() - b.getParamOffsetStart();
            INDArray view = b.getUpdaterView();
            FloatBuffer state = view == null || view.length() == 0 ? null : floats(view, view.length());
            int index = blocks.size();
            blocks.add(new Block(rule, config, state, length));
            for (UpdaterBlock.ParamState ps : b.getLayersAndVariablesInBlock()) {
                Trainable layer = ps.getLayer();
                GradientNormalization norm = layer.getConfig().getGradientNormalization();
                if (norm != null && norm != GradientNormalization.None) {
                    return Optional.empty();
                }
                List<Regularization> regs = layer.getConfig().getRegularizationByParam(ps.getParamName());
                regs = regs == null ? List.of() : List.copyOf(regs);
                for (Regularization r : regs) {
                    if (!(r instanceof L1Regularization || r instanceof L2Regularization || r instanceof WeightDecay)) {
                        return Optional.empty();
                    }
                }
                segments.add(new Segment(index, ps.getParamOffsetStart(),
                        ps.getParamOffsetEnd() - ps.getParamOffsetStart(),
                        ps.getParamOffsetStart() - b.getParamOffsetStart(),
                        layer.updaterDivideByMinibatch(ps.getParamName()), regs));
            }
        }
        return Optional.of(new ParameterUpdate(graph, blocks, segments));
    }

    /** Whether this update still addresses {@code graph}'s arrays (they are replaced by setUpdater, init, ...). */
    boolean isCurrent(ComputationGraph graph) {
        return graph.getUpdater() == updater && graph.params() == params && graph.getFlattenedGradients() == gradients;
    }

    /**
     * Updates the parameters from the gradients of a batch of {@code batch} examples (summed, as the
     * compiled step writes them) at {@code iteration} and {@code epoch}; the gradient array is left
     * as it was read.
     *
     * @return the regularisation score of the parameters before the update
     */
    double apply(int iteration, int epoch, int batch) {
        Coefficients[] c = new Coefficients[segments.size()];
        for (int s = 0; s < c.length; s++) {
            c[s] = coefficients(segments.get(s), iteration, epoch, batch);
        }
        double[] scores = new double[work.size()];
        IntStream.range(0, work.size()).parallel().forEach(i -> scores[i] = run(work.get(i), c));
        double score = 0;
        for (double s : scores) {
            score += s;
        }
        return score;
    }

    private Coefficients coefficients(Segment s, int iteration, int epoch, int batch) {
        Block b = blocks.get(s.block());
        IUpdater config = b.config();
        double lr = config.hasLearningRate() ? config.getLearningRate(iteration, epoch) : 1.0;
        double momentum = b.rule() == Rule.NESTEROVS ? ((Nesterovs) config).currentMomentum(iteration, epoch) : 0;
        double beta1 = 0, beta2 = 0, epsilon = 0, adamStep = 0;
        if (config instanceof Adam adam) {
            beta1 = adam.getBeta1();
            beta2 = adam.getBeta2();
            epsilon = adam.getEpsilon();
            // libnd4j's bias correction folded into the step size, as its Adam updater computes it (in float)
            float b1t = (float) Math.pow((float) beta1, iteration + 1);
            float b2t = (float) Math.pow((float) beta2, iteration + 1);
            float step = (float) lr * (float) Math.sqrt(1f - b2t) / (1f - b1t);
            adamStep = Float.isNaN(step) || Float.isInfinite(step) || step == 0 ? epsilon : step;
        }
        double l1 = 0, l2 = 0, decay = 0, l1Score = 0, l2Score = 0;
        for (Regularization r : s.regularizations()) {
            if (r instanceof L1Regularization r1) {
                double v = r1.getL1().valueAt(iteration, epoch);
                l1 += v;
                l1Score += v;
            } else if (r instanceof L2Regularization r2) {
                double v = r2.getL2().valueAt(iteration, epoch);
                l2 += v;
                l2Score += 0.5 * v;
            } else {
                WeightDecay wd = (WeightDecay) r;
                double v = wd.getCoeff().valueAt(iteration, epoch);
                decay += wd.isApplyLR() ? v * lr : v;
                l2Score += 0.5 * v;
            }
        }
        float divisor = s.divide() && miniBatch ? batch : 1;
        return new Coefficients(b.rule(), (float) lr, (float) momentum, (float) beta1, (float) beta2, (float) epsilon,
                (float) adamStep, divisor, (float) l1, (float) l2, (float) decay, l1Score, l2Score);
    }

    /** One run of elements: the update, and the regularisation score of the parameters read. */
    private double run(Work w, Coefficients[] all) {
        Segment s = segments.get(w.segment());
        Coefficients c = all[w.segment()];
        Block b = blocks.get(s.block());
        FloatBuffer state = b.state();
        int stateAt = s.blockOffset();
        double sumSquares = 0;
        double sumAbs = 0;
        for (int i = w.from(); i < w.to(); i++) {
            int at = s.offset() + i;
            float x = p.get(at);
            float d = g.get(at);
            if (c.divisor() != 1) {
                d = d / c.divisor();
            }
            if (c.l2() != 0) {
                d = c.l2() * x + d;
            }
            if (c.l1() != 0) {
                d = c.l1() * Math.signum(x) + d;
            }
            switch (c.rule()) {
                case SGD -> d = d * c.lr();
                case NESTEROVS -> {
                    float previous = c.momentum() * state.get(stateAt + i);
                    float v = previous - c.lr() * d;
                    state.put(stateAt + i, v);
                    d = previous - (c.momentum() + 1) * v;
                }
                case ADAM -> {
                    int m = stateAt + i;
                    int u = b.length() + stateAt + i;
                    float mt = c.beta1() * state.get(m) + d * (1 - c.beta1());
                    float ut = c.beta2() * state.get(u) + d * d * (1 - c.beta2());
                    state.put(m, mt);
                    state.put(u, ut);
                    d = mt * c.adamStep() / ((float) Math.sqrt(ut) + c.epsilon());
                }
                case NONE -> {
                }
            }
            if (c.decay() != 0) {
                d = c.decay() * x + d;
            }
            p.put(at, x - d);
            sumSquares += (double) x * x;
            sumAbs += Math.abs(x);
        }
        return c.l2Score() * sumSquares + c.l1Score() * sumAbs;
    }

    private static FloatBuffer floats(INDArray a, long length) {
        if (length > Integer.MAX_VALUE) {
            throw new UnsupportedOperationException("more than 2^31 parameters");
        }
        return new FloatPointer(HostArrays.pointer(a)).capacity(length).asBuffer();
    }
}
