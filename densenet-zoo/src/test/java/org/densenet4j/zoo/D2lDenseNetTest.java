package org.densenet4j.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.densenet4j.testing.TorchReference;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;

/**
 * The {@code densenet-d2l} preset is the DenseNet of "Dive into Deep Learning" (d2l-ai/d2l-en
 * v0.17.6, chapter_convolutional-modern/densenet.md, pytorch tab), which the ResNet-18 preset is
 * compared with: checked against a PyTorch re-implementation of the book's code
 * (tools/fixtures/make_zoo_fixtures.py), layer by layer, output and gradients.
 */
class D2lDenseNetTest {

    /** 758,226 PyTorch parameters ({@code sum(p.numel() for p in net.parameters())}) + 6,608 BN statistics. */
    private static final long D2L_DENSENET_PARAMETERS = 758_226L + 6_608L;

    @Test
    void hasTheParametersOfD2lsNetwork() {
        var conf = DenseNetZooModel.of(DenseNetPreset.D2L_DENSENET).conf();
        assertEquals(D2L_DENSENET_PARAMETERS, DenseNetBuilder.numParams(conf));
    }

    @Test
    void computesWhatPyTorchComputesWithTheSameWeights() throws Exception {
        TorchReference torch = TorchReference.withGradients("densenet-d2l", 96, 96, 2);
        DenseNetZooModel model = DenseNetZooModel.of(DenseNetPreset.D2L_DENSENET);
        torch.assertShapes(model.conf());
        ComputationGraph net = model.init();
        assertEquals(torch.trainableParameters() + torch.bnStatistics(), net.numParams(), "PyTorch's count");
        torch.loadInto(net);
        double diff = torch.maxLogProbabilityDifference(net.outputSingle(false, torch.input()));
        System.out.printf("densenet-d2l 96x96: max |log p - log p_torch| = %.2e%n", diff);
        assertTrue(diff <= 1e-3, "max |log p - log p_torch| = " + diff);
        net.close();
    }

    @Test
    void aTrainingStepHasPyTorchsGradients() throws Exception {
        TorchReference torch = TorchReference.withGradients("densenet-d2l", 96, 96, 2);
        // PyTorch's step adds no weight decay to the loss
        ComputationGraph net = new DenseNetZooModel(DenseNetPreset.D2L_DENSENET, c -> c.weightDecay(0)).init();
        torch.loadInto(net);
        torch.assertGradients(net, 1e-3);
        net.close();
    }
}
