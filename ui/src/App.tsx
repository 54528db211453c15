// The frame: masthead with the user and logout, a navigation sidebar that folds away on a
// phone, and the pages. Logged out, every path shows the login page and stays in the address
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
import { Navigate, Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { HostsPage } from './pages/Hosts';
import { LockPage } from './pages/Lock';
import { LocksPage } from './pages/Locks';
import { LoginPage } from './pages/Login';
import { UsersPage } from './pages/Users';
import { useCan, useSession } from './session';

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
    <Page masthead={<Header />} sidebar={<Sidebar />} isManagedSidebar>
      <Routes>
        <Route path="/" element={<Navigate to="/locks" replace />} />
        <Route path="/locks" element={<LocksPage />} />
        <Route path="/locks/:id" element={<LockPage />} />
        <Route path="/hosts" element={<HostsPage />} />
        {useCanAdmin() && <Route path="/users" element={<UsersPage />} />}
        <Route path="*" element={<Navigate to="/locks" replace />} />
      </Routes>
    </Page>
  );
}

const useCanAdmin = () => useCan('admin');

function Header() {
  const { session, logout } = useSession();
  return (
    <Masthead>
      <MastheadMain>
        <MastheadToggle>
          <PageToggleButton isHamburgerButton aria-label="Navigation" />
        </MastheadToggle>
        <MastheadBrand>
          <MastheadLogo component="span">keyholder</MastheadLogo>
        </MastheadBrand>
      </MastheadMain>
      <MastheadContent>
        <Toolbar isStatic>
          <ToolbarContent>
            <ToolbarItem align={{ default: 'alignEnd' }}>
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

function Sidebar() {
  const navigate = useNavigate();
  const { pathname } = useLocation();
  const admin = useCan('admin');
  const items = [
    { to: '/locks', label: 'Locks' },
    { to: '/hosts', label: 'Hosts' },
    ...(admin ? [{ to: '/users', label: 'Users & tokens' }] : []),
  ];
  return (
    <PageSidebar>
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
