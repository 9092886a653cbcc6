package org.densenet4j.dl4j;

import java.lang.ref.Reference;
import java.lang.reflect.Field;
import org.densenet4j.onednn.HostArrays;

import org.bytedeco.javacpp.Pointer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.graph.vertex.impl.MergeVertex;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * DL4J's {@link MergeVertex} with a faster forward pass for DenseNet's concatenations: along the
 * channel axis of dense NCHW arrays each input is, per example, one contiguous block, so the
 * output is a sequence of block copies. libnd4j's general {@code concat} took 64 ms for the 58
 * concatenations of DenseNet-121 at batch 1 (589 ms at batch 8) where block copies take 4 ms (51 ms).
 *
 * The backward pass splits the gradient again the same way. Anything else (another axis, other
 * ranks, views with gaps, another backend) goes to DL4J's own implementation. The configuration stays DL4J's
 * {@code MergeVertex}: {@link FastPath} swaps the runtime vertex of an initialised graph.
 */
final class FastMergeVertex extends MergeVertex {

    private static final Field SHAPES = Dl4jInternals.MERGE_SHAPES;
    private static final Field RANK = Dl4jInternals.MERGE_RANK;
    private static final Field AXIS = Dl4jInternals.MERGE_AXIS;

    private final int mergeAxis;

    private FastMergeVertex(MergeVertex original, int mergeAxis) {
        super(original.getGraph(), original.getVertexName(), original.getVertexIndex(), original.getInputVertices(),
                original.getOutputVertices(), original.getDataType(), mergeAxis);
        this.mergeAxis = mergeAxis;
        setOutputVertex(original.isOutputVertex());
    }

    /**
     * The fast vertex for {@code vertex}, or null when it is not exactly DL4J's MergeVertex (or DL4J's fields differ).
     */
    static FastMergeVertex replacing(GraphVertex vertex) {
        if (vertex == null || vertex.getClass() != MergeVertex.class || SHAPES == null || RANK == null || AXIS == null
                || !HostArrays.CPU) {
            return null;
        }
        try {
            return new FastMergeVertex((MergeVertex) vertex, AXIS.getInt(vertex));
        } catch (IllegalAccessException e) {
            return null;
        }
    }

    @Override
    public INDArray doForward(boolean training, LayerWorkspaceMgr workspaceMgr) {
        if (!blockCopies()) {
            return super.doForward(training, workspaceMgr);
        }
        long[][] shapes = new long[inputs.length][];
        long channels = 0;
        for (int i = 0; i < inputs.length; i++) {
            shapes[i] = inputs[i].shape();
            channels += shapes[i][1];
        }
        long[] shape = shapes[0].clone();
        shape[1] = channels;
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, shape, 'c');
        copyBlocks(out, inputs, true);
        try { // what DL4J's backward pass reads to split the gradient again
            SHAPES.set(this, shapes);
            RANK.setInt(this, shape.length);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e); // cannot happen: the fields were made accessible
        }
        return out;
    }

    @Override
    public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr workspaceMgr) {
        long[][] shapes = forwardShapes();
        if (shapes == null || shapes.length < 2 || mergeAxis != 1 || epsilon == null || epsilon.rank() != 4
                || !HostArrays.denseRowMajor(epsilon) || shapes[0].length != 4) {
            return super.doBackward(tbptt, workspaceMgr);
        }
        INDArray[] parts = new INDArray[shapes.length];
        for (int i = 0; i < parts.length; i++) {
            parts[i] = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, epsilon.dataType(), shapes[i], 'c');
        }
        copyBlocks(epsilon, parts, false);
        return new Pair<>(null, parts);
    }

    /**
     * Copies between an NCHW array and its channel blocks, example by example: into {@code whole}
     * from {@code parts} ({@code gather}), or out of it into them.
     */
    private static void copyBlocks(INDArray whole, INDArray[] parts, boolean gather) {
        long examples = whole.size(0);
        long elementSize = whole.dataType().width();
        long exampleBytes = whole.length() / examples * elementSize;
        long wholeAddress = HostArrays.address(whole);
        long offset = 0;
        for (INDArray part : parts) {
            long blockBytes = part.length() / examples * elementSize;
            long partAddress = HostArrays.address(part);
            for (long n = 0; n < examples; n++) {
                Pointer inWhole = HostArrays.at(wholeAddress + n * exampleBytes + offset);
                Pointer inPart = HostArrays.at(partAddress + n * blockBytes);
                Pointer.memcpy(gather ? inWhole : inPart, gather ? inPart : inWhole, blockBytes);
            }
            offset += blockBytes;
        }
        Reference.reachabilityFence(whole); // memcpy had only their addresses
        Reference.reachabilityFence(parts);
    }

    /** The input shapes of the last forward pass, as DL4J's MergeVertex keeps them. */
    private long[][] forwardShapes() {
        try {
            return (long[][]) SHAPES.get(this);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e); // cannot happen: the field was made accessible
        }
    }

    /** Whether this forward pass is block copies: channel axis, two or more dense 4-d inputs alike but for it. */
    private boolean blockCopies() {
        if (mergeAxis != 1 || inputs == null || inputs.length < 2) {
            return false;
        }
        long[] first = inputs[0].shape();
        for (INDArray input : inputs) {
            if (input.rank() != 4 || input.dataType() != dataType || !HostArrays.denseRowMajor(input)
                    || input.size(0) != first[0] || input.size(2) != first[2] || input.size(3) != first[3]) {
                return false;
            }
        }
        return true;
    }

}
