// The small entry: it starts the first API reads (early.ts), then loads the app, so the
// network and the parsing of the app's code overlap instead of running one after the other.
// Only PatternFly's base (tokens, fonts, resets) here: each component brings its own CSS
// through @patternfly/react-styles, so the bundle carries the CSS of the components in use only.
import '@patternfly/patternfly/patternfly-base.css';
import './app.css';
import { startEarly } from './early';
import { OVERVIEW_PATH, listUrlOf, locksListPath } from './locks-query';

startEarly('/api/session');
if (location.pathname === '/' || location.pathname === '/locks') {
  startEarly(locksListPath(listUrlOf(new URLSearchParams(location.search))).path);
  startEarly(OVERVIEW_PATH);
}
void import('./boot');
