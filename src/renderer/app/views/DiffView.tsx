// The Diff view (model diffing): the project's crosscoders (`crosscoders.list`) and a form that trains one;
// the selected crosscoder's findings against its first checkpoint (with a seed baseline on demand) and the
// crosscoder read for a pair of its models (metrics, tag counts, figures, latent table), a latent's page,
// and the activation-difference lens. The selection is in the hash:
// `#/diff/NAME?pair=base,dpo`, a latent's page `#/diff/NAME/42?pair=base,dpo`.
import { Empty, ErrorState, Loading } from '../components/States.js';
import { useQuery, useReloadOnJobEnd } from '../data.js';
import { VIEWS } from '../views.js';
import { ViewShell } from './ViewShell.js';
import { CrosscoderDetails } from '../diff/CrosscoderDetails.js';
import { CrosscoderForm } from '../diff/CrosscoderForm.js';
import { FindingsPanel } from '../diff/FindingsPanel.js';
import { LatentPage } from '../diff/LatentPage.js';
import { LensPanel } from '../diff/LensPanel.js';
import { duration } from '../neurons/JobProgress.js';
import { formatHash, useRoute } from '../neurons/route.js';
import { useJobRun } from '../neurons/useJobRun.js';
import { useProjectTaps } from '../neurons/useProjectTaps.js';
import { findPair, pairNames, type Crosscoder, type CrosscoderPair } from '../../../shared/specs/diff.js';
import '../neurons/neurons.css';
import '../features/features.css';

const view = VIEWS.find((v) => v.id === 'diff')!;

/** The list of crosscoders, the selected one highlighted. */
function CrosscoderList({
  list,
  current,
  onSelect,
}: {
  list: Crosscoder[];
  current: Crosscoder | undefined;
  onSelect: (name: string) => void;
}) {
  return (
    <table className="ms-table ms-sae-table" aria-label="Crosscoders">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Checkpoints</th>
          <th scope="col">Tap</th>
          <th scope="col">Kind</th>
          <th scope="col" className="num">
            Latents
          </th>
          <th scope="col" className="num">
            Time
          </th>
        </tr>
      </thead>
      <tbody>
        {list.map((c) => (
          <tr
            key={c.name}
            data-name={c.name}
            className={c === current ? 'selected' : undefined}
            aria-selected={c === current}
          >
            <td>
              <button type="button" className="ms-link" onClick={() => onSelect(c.name)}>
                {c.name}
              </button>
            </td>
            <td>{c.checkpoints.join(', ')}</td>
            <td>
              <code>{c.tap}</code>
            </td>
            <td>{c.settings.kind}</td>
            <td className="num">{c.dSae}</td>
            <td className="num">{duration(c.seconds)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function DiffView() {
  const [route, navigate] = useRoute('diff');
  const taps = useProjectTaps(
    view,
    <Empty title="No checkpoints yet">
      Train a model and fine-tune it first: a crosscoder compares the same tap of 2 or 3 checkpoints.
    </Empty>,
  );
  const crosscoders = useQuery('crosscoders.list', {});
  // A seed baseline trains the crosscoder's twin, which the list then shows.
  useReloadOnJobEnd(crosscoders.reload, ['crosscoder.train', 'crosscoder.findings']);
  const train = useJobRun('crosscoder.train');

  if (taps.kind === 'no-project') return taps.element;
  const list = crosscoders.data ?? [];
  const [name, latentPart] = route.parts;
  const current = list.find((c) => c.name === name) ?? (name ? undefined : list[list.length - 1]);
  const pairParam = route.params.get('pair')?.split(',') ?? [];
  const pair: CrosscoderPair | undefined = current
    ? (findPair(current, pairParam[0] ?? '', pairParam[1] ?? '') ?? current.pairs[0])
    : undefined;
  const latent = latentPart !== undefined && /^\d+$/.test(latentPart) ? Number(latentPart) : undefined;
  const hashOf = (c: Crosscoder, p: CrosscoderPair, l?: number) =>
    formatHash('diff', l === undefined ? [c.name] : [c.name, l], { pair: pairNames(c, p).join(',') });

  return (
    <ViewShell view={view}>
      <section className="ms-panel" aria-labelledby="crosscoders-h">
        <h2 id="crosscoders-h">Crosscoders</h2>
        <p className="ms-what">
          A crosscoder is one sparse dictionary trained on the same tap of 2 or 3 checkpoints: its latents are
          shared by the models or specific to one (Lindsey et al. 2024; Minder et al. 2025). Metrics are on
          the held-out 10% of the probe’s tokens.
        </p>
        {crosscoders.error ? (
          <ErrorState
            title="Crosscoders could not be listed"
            error={crosscoders.error}
            onRetry={crosscoders.reload}
          />
        ) : !crosscoders.data ? (
          <Loading what="crosscoders" />
        ) : list.length === 0 ? (
          <Empty title="No crosscoder trained yet">
            Train one below, or from a terminal:{' '}
            <code>monoscope analyze crosscoder --checkpoints base,dpo</code>.
          </Empty>
        ) : (
          <CrosscoderList
            list={list}
            current={current}
            onSelect={(n) => navigate(formatHash('diff', [n]), true)}
          />
        )}
        {name && crosscoders.data && !current && (
          <ErrorState
            title={`No crosscoder named '${name}'`}
            error={`The project has ${list.map((c) => c.name).join(', ') || 'none'}.`}
          />
        )}
      </section>

      {current &&
        pair &&
        (latent !== undefined ? (
          <LatentPage
            name={current.name}
            latent={latent}
            onBack={() => navigate(hashOf(current, pair), true)}
          />
        ) : (
          <>
            <FindingsPanel key={current.name} crosscoder={current} />
            <CrosscoderDetails
              crosscoder={current}
              pair={pair}
              onPair={(p) => navigate(hashOf(current, p))}
              onOpenLatent={(l) => navigate(hashOf(current, pair, l), true)}
            />
          </>
        ))}

      {taps.kind === 'pending' ? (
        taps.element
      ) : (
        <>
          <CrosscoderForm checkpoints={taps.checkpoints} names={list.map((c) => c.name)} run={train} />
          <LensPanel checkpoints={taps.checkpoints} />
        </>
      )}
    </ViewShell>
  );
}
