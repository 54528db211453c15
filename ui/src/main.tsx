// Only PatternFly's base (tokens, fonts, resets): each component brings its own CSS through
// @patternfly/react-styles, so the bundle carries the CSS of the components in use only.
import '@patternfly/patternfly/patternfly-base.css';
import './app.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router-dom';
import { App } from './App';
import { SessionProvider } from './session';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <BrowserRouter>
      <SessionProvider>
        <App />
      </SessionProvider>
    </BrowserRouter>
  </StrictMode>,
);
