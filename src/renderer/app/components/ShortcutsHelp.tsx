// The keyboard shortcuts overlay (`?`).
import { VIEWS } from '../views.js';

/** Keys of the views themselves (they handle them when they have focus). */
const VIEW_KEYS: [string[], string][] = [
  [['Enter'], 'Open the selected run, neuron or item'],
  [['PgUp', 'PgDn', 'Home', 'End'], 'Neurons: page through the table'],
  [['[', ']'], 'Neurons: previous / next neuron in the table order'],
  [['Esc'], 'Neurons: back from a neuron page to the table'],
  [['+', '−', '0'], 'Heatmap: zoom in, out, fit'],
  [['←', '→', '↑', '↓'], 'Heatmap: pan'],
];

export function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  return (
    <div
      className="overlay"
      role="dialog"
      aria-modal="true"
      aria-label="Keyboard shortcuts"
      onClick={onClose}
    >
      <div className="dialog" onClick={(e) => e.stopPropagation()}>
        <h2>Keyboard shortcuts</h2>
        <table>
          <tbody>
            {VIEWS.map((v) => (
              <tr key={v.id}>
                <td>
                  <kbd>g</kbd> <kbd>{v.key}</kbd>
                </td>
                <td>{v.label}</td>
              </tr>
            ))}
            <tr>
              <td>
                <kbd>↑</kbd> <kbd>↓</kbd>
              </td>
              <td>Move in lists</td>
            </tr>
            {VIEW_KEYS.map(([keys, what]) => (
              <tr key={what}>
                <td>
                  {keys.map((k, i) => (
                    <span key={k}>
                      {i > 0 && ' '}
                      <kbd>{k}</kbd>
                    </span>
                  ))}
                </td>
                <td>{what}</td>
              </tr>
            ))}
            <tr>
              <td>
                <kbd>t</kbd>
              </td>
              <td>Cycle theme: system, light, dark</td>
            </tr>
            <tr>
              <td>
                <kbd>?</kbd>
              </td>
              <td>This help (Esc closes)</td>
            </tr>
          </tbody>
        </table>
        <button type="button" onClick={onClose} autoFocus>
          Close
        </button>
      </div>
    </div>
  );
}
