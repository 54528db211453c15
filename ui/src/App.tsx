// The frame: masthead with the user and logout, a navigation sidebar that folds away on a
// phone (and closes once a page is picked there), the live-stream state, and the pages. Logged out, every path shows the login page and stays in the address
// bar, so a bookmarked lock page opens after login.
import {
  Bullseye,
  Button,
  Masthead,
  MastheadBrand,
  MastheadContent,
  MastheadLogo,
  MastheadMain,
  MastheadToggle,
  Nav,
  NavItem,
  NavList,
  Page,
  PageSidebar,
  PageSidebarBody,
  PageToggleButton,
  Spinner,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from '@patternfly/react-core';
import { lazy, Suspense, useEffect, useState } from 'react';
import { Navigate, Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { LiveProvider, useLiveConnected } from './live';
import { LockPage } from './pages/Lock';
import { LocksPage } from './pages/Locks';
import { LoginPage } from './pages/Login';
import { useCan, useSession } from './session';

// pages visited less often load on first use: the locks list parses less code before it paints
const AccountPage = lazy(() => import('./pages/Account').then((m) => ({ default: m.AccountPage })));
const AuditPage = lazy(() => import('./pages/Audit').then((m) => ({ default: m.AuditPage })));
const HostPage = lazy(() => import('./pages/Host').then((m) => ({ default: m.HostPage })));
const HostsPage = lazy(() => import('./pages/Hosts').then((m) => ({ default: m.HostsPage })));
const UsersPage = lazy(() => import('./pages/Users').then((m) => ({ default: m.UsersPage })));

export function App() {
  const { session } = useSession();
  if (session === undefined)
    return (
      <Bullseye>
        <Spinner aria-label="Loading" />
      </Bullseye>
    );
  if (session === null) return <LoginPage />;
  return (
    <LiveProvider>
      <Frame />
    </LiveProvider>
  );
}

/** PatternFly's breakpoint below which the sidebar overlays the page */
const DESKTOP = 1200;
const isDesktop = () => window.innerWidth >= DESKTOP;

function Frame() {
  const admin = useCan('admin');
  const [sidebarOpen, setSidebarOpen] = useState(isDesktop);
  const { pathname } = useLocation();
  // a phone's menu covers the page: it closes once a page was picked
  useEffect(() => {
    if (!isDesktop()) setSidebarOpen(false);
  }, [pathname]);
  return (
    <Page
      masthead={<Header sidebarOpen={sidebarOpen} onToggle={() => setSidebarOpen((o) => !o)} />}
      sidebar={<Sidebar isOpen={sidebarOpen} />}
      onPageResize={(_e, { windowSize }) => windowSize >= DESKTOP && setSidebarOpen(true)}
    >
      <Suspense fallback={<Spinner aria-label="Loading" size="lg" />}>
        <Routes>
          <Route path="/" element={<Navigate to="/locks" replace />} />
          <Route path="/locks" element={<LocksPage />} />
          <Route path="/locks/:id" element={<LockPage />} />
          <Route path="/hosts" element={<HostsPage />} />
          <Route path="/hosts/:name" element={<HostPage />} />
          <Route path="/account" element={<AccountPage />} />
          {admin && <Route path="/users" element={<UsersPage />} />}
          {admin && <Route path="/audit" element={<AuditPage />} />}
          <Route path="*" element={<Navigate to="/locks" replace />} />
        </Routes>
      </Suspense>
    </Page>
  );
}

function LiveIndicator() {
  const live = useLiveConnected();
  return (
    <span
      className={live ? 'kh-live kh-live-on' : 'kh-live'}
      data-testid="live-state"
      title={live ? 'Updates arrive as they happen' : 'The event stream is down: refreshing every 2 s'}
    >
      {live ? 'live' : 'polling'}
    </span>
  );
}

function Header({ sidebarOpen, onToggle }: { sidebarOpen: boolean; onToggle(): void }) {
  const { session, logout } = useSession();
  return (
    <Masthead>
      <MastheadMain>
        <MastheadToggle>
          <PageToggleButton
            isHamburgerButton
            aria-label="Navigation"
            isSidebarOpen={sidebarOpen}
            onSidebarToggle={onToggle}
          />
        </MastheadToggle>
        <MastheadBrand>
          <MastheadLogo component="span">keyholder</MastheadLogo>
        </MastheadBrand>
      </MastheadMain>
      <MastheadContent>
        <Toolbar isStatic>
          <ToolbarContent>
            <ToolbarItem align={{ default: 'alignEnd' }}>
              <LiveIndicator />
            </ToolbarItem>
            <ToolbarItem>
              <span data-testid="whoami">
                {session?.user.login} ({session?.user.role})
              </span>
            </ToolbarItem>
            <ToolbarItem>
              <Button variant="secondary" onClick={() => void logout()}>
                Log out
              </Button>
            </ToolbarItem>
          </ToolbarContent>
        </Toolbar>
      </MastheadContent>
    </Masthead>
  );
}

function Sidebar({ isOpen }: { isOpen: boolean }) {
  const navigate = useNavigate();
  const { pathname } = useLocation();
  const admin = useCan('admin');
  const items = [
    { to: '/locks', label: 'Locks' },
    { to: '/hosts', label: 'Hosts' },
    ...(admin
      ? [
          { to: '/users', label: 'Users & tokens' },
          { to: '/audit', label: 'Audit trail' },
        ]
      : []),
    { to: '/account', label: 'Your account' },
  ];
  return (
    <PageSidebar isSidebarOpen={isOpen}>
      <PageSidebarBody>
        <Nav aria-label="Main">
          <NavList>
            {items.map((item) => (
              <NavItem
                key={item.to}
                to={item.to}
                isActive={pathname === item.to || pathname.startsWith(`${item.to}/`)}
                onClick={(event) => {
                  // client-side navigation: no reload, the session and polling carry on
                  event.preventDefault();
                  navigate(item.to);
                }}
              >
                {item.label}
              </NavItem>
            ))}
          </NavList>
        </Nav>
      </PageSidebarBody>
    </PageSidebar>
  );
}
